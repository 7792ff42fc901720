//! Module zips and the h1 hash: validation of untrusted zips, creation by the x/mod rules, go.mod reading. Pure: no I/O.

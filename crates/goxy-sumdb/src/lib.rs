//! Checksum database: signed notes, transparency-log tiles and proofs, record verification. Pure: no I/O.

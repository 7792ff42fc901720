//! unescape_version never panics, and whatever it accepts escapes back to the input.
#![no_main]

use goxy_mod::module;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(escaped) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(version) = module::unescape_version(escaped) {
        assert_eq!(module::escape_version(&version).as_deref(), Ok(escaped));
    }
});

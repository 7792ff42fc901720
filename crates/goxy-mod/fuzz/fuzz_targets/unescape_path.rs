//! unescape_path never panics, and whatever it accepts is a valid module path
//! that escapes back to exactly the input (the encoding is a bijection).
#![no_main]

use goxy_mod::module;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(escaped) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(path) = module::unescape_path(escaped) {
        assert!(module::check_path(&path).is_ok(), "{path:?}");
        assert_eq!(module::escape_path(&path).as_deref(), Ok(escaped));
    }
});

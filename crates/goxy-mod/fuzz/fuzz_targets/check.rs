//! check(path, version) never panics; input is "path@version" (split at the last '@').
//! Accepted pairs are consistent with the component checks.
#![no_main]

use goxy_mod::{module, semver};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (path, version) = text.rsplit_once('@').unwrap_or((text, ""));
    if module::check(path, version).is_ok() {
        assert!(module::check_path(path).is_ok());
        assert!(semver::is_valid(version));
        let (_, major) = module::split_path_version(path).unwrap_or((path, ""));
        assert!(module::match_path_major(version, major));
    }
});

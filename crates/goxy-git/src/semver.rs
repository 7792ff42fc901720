//! Go semver, from `goxy_mod::semver` (owned-string adapters for this crate).

use std::cmp::Ordering;

pub fn is_valid(v: &str) -> bool {
    goxy_mod::semver::is_valid(v)
}

pub fn canonical(v: &str) -> String {
    goxy_mod::semver::canonical(v)
}

pub fn major(v: &str) -> String {
    goxy_mod::semver::major(v).to_string()
}

pub fn prerelease(v: &str) -> String {
    goxy_mod::semver::prerelease(v).to_string()
}

pub fn build(v: &str) -> String {
    goxy_mod::semver::build(v).to_string()
}

pub fn compare(v: &str, w: &str) -> Ordering {
    goxy_mod::semver::compare(v, w)
}

pub fn sort(list: &mut [String]) {
    goxy_mod::semver::sort(list)
}

//! Case folding for collision checks, exactly as x/mod zip's `strToFold`:
//! each rune maps to the smallest rune of its `unicode.SimpleFold` orbit, then
//! `A`–`Z` map to `a`–`z`. Two paths collide iff their folds are equal.

use crate::fold_table::FOLD;

/// The fold key of `s` (x/mod `strToFold`). Equal keys with different spellings
/// are a case-insensitive collision, e.g. `"K"` (U+212A KELVIN SIGN) and `"k"`.
pub fn str_to_fold(s: &str) -> String {
    if s.bytes().all(|b| b.is_ascii() && !b.is_ascii_uppercase()) {
        return s.to_string();
    }
    s.chars().map(fold_char).collect()
}

fn fold_char(c: char) -> char {
    let code = c as u32;
    match FOLD.binary_search_by_key(&code, |&(from, _)| from) {
        Ok(i) => FOLD
            .get(i)
            .and_then(|&(_, to)| char::from_u32(to))
            .unwrap_or(c),
        Err(_) => c,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds() {
        assert_eq!(str_to_fold("abc/def.go"), "abc/def.go");
        assert_eq!(str_to_fold("M.GO"), "m.go");
        assert_eq!(str_to_fold("\u{212A}"), "k");
        assert_eq!(str_to_fold("K"), "k");
        assert_eq!(str_to_fold("\u{17F}"), "s"); // LATIN SMALL LETTER LONG S ~ s
        assert_eq!(str_to_fold("Σ"), str_to_fold("ς"));
        assert_eq!(str_to_fold("Σ"), str_to_fold("σ"));
        assert_ne!(str_to_fold("a"), str_to_fold("b"));
    }

    #[test]
    fn table_sorted_and_fixed_points() {
        assert!(FOLD.windows(2).all(|w| w[0].0 < w[1].0));
        // A fold key folds to itself.
        for &(_, to) in FOLD {
            let c = char::from_u32(to).unwrap();
            assert_eq!(fold_char(c), c);
        }
    }
}

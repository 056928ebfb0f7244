//! Brazilian tax ids: CPF (people) and CNPJ (companies), check digits and formatting.

use rand::Rng;

fn digits(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(14);
    for c in s.chars() {
        match c {
            '0'..='9' => out.push(c as u8 - b'0'),
            '.' | '-' | '/' | ' ' => {}
            _ => return None,
        }
    }
    Some(out)
}

fn check_digit(ds: &[u8], weights: &[u32]) -> u8 {
    let sum: u32 = ds.iter().zip(weights).map(|(d, w)| *d as u32 * w).sum();
    let r = sum % 11;
    if r < 2 { 0 } else { (11 - r) as u8 }
}

const CPF_W1: [u32; 9] = [10, 9, 8, 7, 6, 5, 4, 3, 2];
const CPF_W2: [u32; 10] = [11, 10, 9, 8, 7, 6, 5, 4, 3, 2];
const CNPJ_W1: [u32; 12] = [5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2];
const CNPJ_W2: [u32; 13] = [6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2];

fn all_same(ds: &[u8]) -> bool {
    ds.iter().all(|d| *d == ds[0])
}

/// A valid CPF: 11 digits, both check digits right, not all the same digit.
pub fn is_valid_cpf(s: &str) -> bool {
    has_check_digits(s, &CPF_W1, &CPF_W2)
}

/// A valid CNPJ: 14 digits, both check digits right, not all the same digit.
pub fn is_valid_cnpj(s: &str) -> bool {
    has_check_digits(s, &CNPJ_W1, &CNPJ_W2)
}

/// `s` has one digit per weight of `w2` and then its last check digit, the two check
/// digits (weighted by `w1`, then `w2`) are right, and not all its digits are the same.
fn has_check_digits(s: &str, w1: &[u32], w2: &[u32]) -> bool {
    let Some(ds) = digits(s) else { return false };
    let n = w2.len() + 1;
    ds.len() == n
        && !all_same(&ds)
        && check_digit(&ds[..n - 2], w1) == ds[n - 2]
        && check_digit(&ds[..n - 1], w2) == ds[n - 1]
}

/// A CPF or a CNPJ, formatted or not.
pub fn is_valid_tax_id(s: &str) -> bool {
    is_valid_cpf(s) || is_valid_cnpj(s)
}

/// `XXX.XXX.XXX-XX`.
pub fn format_cpf(ds: &[u8; 11]) -> String {
    let d: String = ds.iter().map(|d| (b'0' + d) as char).collect();
    format!("{}.{}.{}-{}", &d[0..3], &d[3..6], &d[6..9], &d[9..11])
}

/// A random valid CPF, formatted.
pub fn random_cpf<R: Rng + ?Sized>(rng: &mut R) -> String {
    loop {
        let mut ds = [0u8; 11];
        for d in ds.iter_mut().take(9) {
            *d = rng.gen_range(0..10);
        }
        if all_same(&ds[..9]) {
            continue;
        }
        ds[9] = check_digit(&ds[..9], &CPF_W1);
        ds[10] = check_digit(&ds[..10], &CPF_W2);
        return format_cpf(&ds);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::SeedableRng;

    #[test]
    fn known_ids() {
        assert!(is_valid_cpf("012.345.678-90"));
        assert!(is_valid_cpf("337.451.076-08"));
        assert!(is_valid_cpf("33745107608"));
        assert!(!is_valid_cpf("123.456.789-10"));
        assert!(!is_valid_cpf("000.000.000-00"));
        assert!(!is_valid_cpf("111.111.111-11"));
        assert!(!is_valid_cpf("337.451.076-0"));
        assert!(!is_valid_cpf("337.451.076-0x"));
        assert!(is_valid_cnpj("20.018.183/0001-80"));
        assert!(!is_valid_cnpj("20.018.183/0001-81"));
        assert!(!is_valid_cnpj("00.000.000/0000-00"));
        assert!(is_valid_tax_id("20018183000180"));
    }

    proptest! {
        #[test]
        fn generated_cpfs_always_validate(seed in any::<u64>()) {
            let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
            for _ in 0..20 {
                let cpf = random_cpf(&mut rng);
                prop_assert!(is_valid_cpf(&cpf), "{}", cpf);
                let ds = digits(&cpf).unwrap();
                prop_assert!(!all_same(&ds));
                prop_assert_eq!(cpf.len(), 14);
            }
        }

        #[test]
        fn changing_a_check_digit_invalidates(seed in any::<u64>(), pos in 9usize..11, delta in 1u8..10) {
            let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
            let cpf = random_cpf(&mut rng);
            let mut ds = digits(&cpf).unwrap();
            ds[pos] = (ds[pos] + delta) % 10;
            let arr: [u8; 11] = ds.try_into().unwrap();
            prop_assert!(!is_valid_cpf(&format_cpf(&arr)));
        }
    }
}

//! Random payers: realistic Brazilian names (fake's PT_BR locale), valid CPFs from our own
//! generator, and amounts in integer cents. The caller supplies the randomness, so a seeded
//! generator gives the same people every time.

use std::collections::HashSet;

use fake::Fake;
use fake::faker::name::raw::Name;
use fake::locales::PT_BR;
use rand::Rng;

use super::taxid::random_cpf;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub name: String,
    pub tax_id: String,
    pub amount: i64,
}

/// `count` people with CPFs that are not in `taken` (nor repeated among themselves), amounts
/// uniform in `[min_amount, max_amount]` cents, all drawn from `rng`.
pub fn random_people<R: Rng + ?Sized>(
    rng: &mut R,
    count: usize,
    min_amount: i64,
    max_amount: i64,
    taken: &HashSet<String>,
) -> Vec<Person> {
    // `fake` draws from its own `rand` major; seed that generator from ours.
    let mut name_rng =
        <fake::rand::rngs::StdRng as fake::rand::SeedableRng>::seed_from_u64(rng.next_u64());
    let mut used: HashSet<String> = HashSet::new();
    (0..count)
        .map(|_| {
            let tax_id = loop {
                let cpf = random_cpf(rng);
                if !taken.contains(&cpf) && used.insert(cpf.clone()) {
                    break cpf;
                }
            };
            let name: String = Name(PT_BR).fake_with_rng(&mut name_rng);
            let name = clean_name(&name);
            Person {
                name,
                tax_id,
                amount: rng.gen_range(min_amount..=max_amount),
            }
        })
        .collect()
}

/// A name as a person writes it: letters, single spaces, apostrophes and hyphens only. The
/// name lists carry a stray `"` where an apostrophe belongs (`D"ávila`): quote-like marks
/// become `'` and the letter after one is a capital (`D'Ávila`); anything else is dropped.
pub fn clean_name(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut after_apostrophe = false;
    for c in raw.chars() {
        if c.is_alphabetic() {
            if after_apostrophe {
                out.extend(c.to_uppercase());
            } else {
                out.push(c);
            }
            after_apostrophe = false;
        } else if matches!(c, '"' | '\'' | '`' | '´' | '‘' | '’' | '“' | '”') {
            if out.chars().last().is_some_and(char::is_alphabetic) {
                out.push('\'');
                after_apostrophe = true;
            }
        } else if c == '-' {
            if out.chars().last().is_some_and(char::is_alphabetic) {
                out.push('-');
            }
            after_apostrophe = false;
        } else if c.is_whitespace() {
            while out.ends_with(['\'', '-']) {
                out.pop();
            }
            if !out.is_empty() && !out.ends_with(' ') {
                out.push(' ');
            }
            after_apostrophe = false;
        }
    }
    while out.ends_with([' ', '\'', '-']) {
        out.pop();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::taxid::is_valid_cpf;
    use rand::SeedableRng;

    #[test]
    fn people_are_valid_unique_and_in_range() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let taken: HashSet<String> = HashSet::new();
        let people = random_people(&mut rng, 500, 1000, 100_000, &taken);
        let cpfs: HashSet<_> = people.iter().map(|p| p.tax_id.clone()).collect();
        assert_eq!(cpfs.len(), 500);
        for p in &people {
            assert!(is_valid_cpf(&p.tax_id));
            assert!((1000..=100_000).contains(&p.amount));
            assert!(p.name.split_whitespace().count() >= 2, "{}", p.name);
        }
        let again = random_people(&mut rng, 200, 1, 1, &cpfs);
        assert!(again.iter().all(|p| !cpfs.contains(&p.tax_id)));
    }

    #[test]
    fn the_same_seed_draws_the_same_people() {
        let taken = HashSet::new();
        let draw = |seed| {
            let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
            random_people(&mut rng, 20, 1000, 100_000, &taken)
        };
        assert_eq!(draw(1), draw(1));
        assert_ne!(draw(1), draw(2));
    }

    #[test]
    fn a_stray_quote_in_a_name_becomes_an_apostrophe() {
        assert_eq!(clean_name("Miranda D\"ávila"), "Miranda D'Ávila");
        assert_eq!(clean_name("Ana  O’neil-Souza "), "Ana O'Neil-Souza");
        assert_eq!(clean_name("Sr. João (Jr.)"), "Sr João Jr");
        assert_eq!(clean_name("Maria D'Ávila"), "Maria D'Ávila");
    }

    #[test]
    fn generated_names_hold_only_letters_spaces_apostrophes_and_hyphens() {
        let taken = HashSet::new();
        for seed in 0..200 {
            let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
            for p in random_people(&mut rng, 50, 1, 1, &taken) {
                assert!(
                    p.name
                        .chars()
                        .all(|c| c.is_alphabetic() || matches!(c, ' ' | '\'' | '-')),
                    "seed {seed}: {:?}",
                    p.name
                );
                assert!(
                    !p.name.contains("  ") && p.name.trim() == p.name,
                    "{:?}",
                    p.name
                );
                assert!(p.name.split(' ').count() >= 2, "seed {seed}: {:?}", p.name);
            }
        }
    }
}

//! Money is integer cents everywhere. Formatting follows Brazilian conventions: `R$ 1.234,56`.

/// `R$ 1.234,56` (negative amounts as `-R$ 1,00`).
pub fn format_brl(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let abs = cents.unsigned_abs();
    let reais = abs / 100;
    let centavos = abs % 100;
    let digits = reais.to_string();
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push('.');
        }
        grouped.push(c);
    }
    format!("{sign}R$ {grouped},{centavos:02}")
}

/// Why a credited invoice forwards nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoForward {
    /// A negative amount or fee (or a difference that does not fit): nothing is sent, the
    /// operator looks at it.
    InvalidAmounts { amount: i64, fee: i64 },
    /// The fee takes all of it (the API refuses transfers of 0 or less).
    NothingToForward { amount: i64, fee: i64 },
}

impl NoForward {
    /// The net recorded beside the reason (`amount − fee`, saturated): kept for the record,
    /// never sent.
    pub fn recorded_net(self) -> i64 {
        let (NoForward::InvalidAmounts { amount, fee }
        | NoForward::NothingToForward { amount, fee }) = self;
        amount.saturating_sub(fee)
    }
}

impl std::fmt::Display for NoForward {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            NoForward::InvalidAmounts { amount, fee } => {
                write!(f, "invalid amounts (amount {amount}, fee {fee})")
            }
            NoForward::NothingToForward { amount, fee } => {
                write!(f, "nothing to forward: fee {fee} >= amount {amount}")
            }
        }
    }
}

/// The fee rule: what is forwarded for a credited invoice is the amount actually paid minus
/// Stark's fee, when both are valid and the difference is positive; otherwise why nothing is.
pub fn net_amount(amount: i64, fee: i64) -> Result<i64, NoForward> {
    if amount < 0 || fee < 0 {
        return Err(NoForward::InvalidAmounts { amount, fee });
    }
    match amount.checked_sub(fee) {
        Some(n) if n > 0 => Ok(n),
        Some(_) => Err(NoForward::NothingToForward { amount, fee }),
        None => Err(NoForward::InvalidAmounts { amount, fee }),
    }
}

/// Parse `123`, `123.45`, `123,45`, `1.234,56` or `R$ 10,00` as cents.
pub fn parse_brl(s: &str) -> Option<i64> {
    let t = s.trim().trim_start_matches("R$").trim();
    if t.is_empty() {
        return None;
    }
    let (int_part, frac) = match t.rfind([',', '.']) {
        Some(i)
            if t.len() - i - 1 <= 2
                && t[i + 1..].chars().all(|c| c.is_ascii_digit())
                && i + 1 < t.len() =>
        {
            (&t[..i], &t[i + 1..])
        }
        _ => (t, ""),
    };
    let int_digits: String = int_part
        .chars()
        .filter(|c| *c != '.' && *c != ',')
        .collect();
    if int_digits.is_empty() && frac.is_empty() {
        return None;
    }
    if !int_digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let reais: i64 = if int_digits.is_empty() {
        0
    } else {
        int_digits.parse().ok()?
    };
    let cents: i64 = match frac.len() {
        0 => 0,
        1 => frac.parse::<i64>().ok()? * 10,
        _ => frac.parse().ok()?,
    };
    reais.checked_mul(100)?.checked_add(cents)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn formats() {
        assert_eq!(format_brl(0), "R$ 0,00");
        assert_eq!(format_brl(5), "R$ 0,05");
        assert_eq!(format_brl(123456), "R$ 1.234,56");
        assert_eq!(format_brl(100000000), "R$ 1.000.000,00");
        assert_eq!(format_brl(-100), "-R$ 1,00");
    }

    #[test]
    fn net() {
        assert_eq!(net_amount(1000, 10), Ok(990));
        assert!(net_amount(1000, 1000).is_err());
        assert!(net_amount(10, 11).is_err());
        assert!(net_amount(i64::MIN, 1).is_err());
    }

    #[test]
    fn why_nothing_is_forwarded() {
        let cases = [
            (500, 500, "nothing to forward: fee 500 >= amount 500", 0),
            (10, 11, "nothing to forward: fee 11 >= amount 10", -1),
            (-5, 0, "invalid amounts (amount -5, fee 0)", -5),
            (1000, -5, "invalid amounts (amount 1000, fee -5)", 1005),
            (
                i64::MIN,
                1,
                "invalid amounts (amount -9223372036854775808, fee 1)",
                i64::MIN,
            ),
        ];
        for (amount, fee, message, recorded) in cases {
            let why = net_amount(amount, fee).unwrap_err();
            assert_eq!(why.to_string(), message);
            assert_eq!(why.recorded_net(), recorded, "{message}");
        }
    }

    #[test]
    fn parses() {
        assert_eq!(parse_brl("10"), Some(1000));
        assert_eq!(parse_brl("10,5"), Some(1050));
        assert_eq!(parse_brl("R$ 1.234,56"), Some(123456));
        assert_eq!(parse_brl("1000.00"), Some(100000));
        assert_eq!(parse_brl("abc"), None);
        assert_eq!(parse_brl(""), None);
    }

    proptest! {
        #[test]
        fn format_parse_round_trip(c in 0i64..10_000_000_000) {
            prop_assert_eq!(parse_brl(&format_brl(c)), Some(c));
        }

        #[test]
        fn net_is_positive_and_exact(a in any::<i64>(), f in any::<i64>()) {
            if let Ok(n) = net_amount(a, f) {
                prop_assert!(n > 0);
                prop_assert_eq!(n + f, a);
            }
        }
    }
}

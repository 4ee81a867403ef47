//! Numbers as short labels: a colour bar's ends, later a plot's ticks.

/// `v` with three significant digits, trailing zeros dropped: `0`, `0.873`, `12.3`, `1234`,
/// `-0.0412`; scientific below 0.001 and from 100 000 on (`1.23e-5`), where fixed notation
/// would be long or lose every digit.
pub fn short(v: f32) -> String {
    if v == 0.0 {
        return "0".into();
    }
    if !v.is_finite() {
        return v.to_string();
    }
    let magnitude = v.abs();
    if (1e-3..1e5).contains(&magnitude) {
        let decimals = (2 - magnitude.log10().floor() as i32).clamp(0, 5) as usize;
        let fixed = format!("{v:.decimals$}");
        let trimmed = if fixed.contains('.') {
            fixed.trim_end_matches('0').trim_end_matches('.')
        } else {
            &fixed
        };
        // A value that rounds to zero at this precision keeps its sign off the label.
        if trimmed == "-0" {
            "0".into()
        } else {
            trimmed.into()
        }
    } else {
        format!("{v:.2e}").replace(".00e", "e").replace("0e", "e")
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn labels_read_like_numbers() {
        let cases = [
            (0.0, "0"),
            (-0.0, "0"),
            (1.0, "1"),
            (0.5, "0.5"),
            (0.8734, "0.873"),
            (12.34, "12.3"),
            (1234.4, "1234"),
            (-0.04123, "-0.0412"),
            (0.001, "0.001"),
            (9.996, "10"),
            (0.000_012_3, "1.23e-5"),
            (0.000_01, "1e-5"),
            (0.000_012, "1.2e-5"),
            (250_000.0, "2.5e5"),
        ];
        for (v, want) in cases {
            assert_eq!(super::short(v), want, "{v}");
        }
    }
}

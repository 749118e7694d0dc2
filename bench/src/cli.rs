//! Command-line values both load generators read: numbers, and lists of socket counts.

/// `value` as a whole number, for the option `name`.
pub fn parse_number(name: &str, value: &str) -> Result<u32, String> {
    value
        .replace('_', "")
        .parse()
        .map_err(|_| format!("{name} takes a whole number, not {value:?}"))
}

/// `1000,5000,10000` as sizes, each at least 1.
pub fn parse_sizes(text: &str) -> Result<Vec<usize>, String> {
    let sizes: Vec<usize> = text
        .split(',')
        .map(|s| s.trim().replace('_', ""))
        .map(|s| match s.parse::<usize>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(format!(
                "--sizes takes numbers of sockets like 1000,5000, not {text:?}"
            )),
        })
        .collect::<Result<_, _>>()?;
    if sizes.is_empty() {
        return Err("--sizes needs at least one size".into());
    }
    Ok(sizes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_sizes() {
        assert_eq!(parse_number("--rate", "10_000"), Ok(10_000));
        assert!(parse_number("--rate", "fast").is_err());
        assert!(parse_number("--rate", "-1").is_err());
        assert_eq!(parse_sizes("1000, 10_000"), Ok(vec![1_000, 10_000]));
        assert!(parse_sizes("0").is_err());
        assert!(parse_sizes("").is_err());
        assert!(parse_sizes("many").is_err());
    }
}

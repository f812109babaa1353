//! Map files: `<key> <value>` lines read once at compile time, looked up by the `map*`
//! converters with the map's match method.

use super::{Arg, SampleType, Value};
use crate::pattern::{MatchMethod, PatternSet};
use std::borrow::Cow;

/// A loaded map file.
#[derive(Debug)]
pub struct Map {
    patterns: PatternSet,
    /// Values in file order, typed as the converter's output.
    values: Vec<Value<'static>>,
    /// The raw value text (for `map_regm` references).
    raw: Vec<Box<[u8]>>,
    /// The keys as written (for the `map_*_key` converters).
    keys: Vec<Box<[u8]>>,
    output: SampleType,
}

impl Map {
    /// Parses map text: one entry a line, the key up to the first blank, the value after the
    /// blanks that follow; `#` comments and empty lines are skipped.
    pub fn parse(text: &str, method: MatchMethod, output: SampleType) -> Result<Self, String> {
        let mut keys = Vec::new();
        let mut values = Vec::new();
        let mut raw = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (key, value) = match line.find([' ', '\t']) {
                Some(p) => (
                    line.get(..p).unwrap_or(line),
                    line.get(p..).unwrap_or("").trim(),
                ),
                None => (line, ""),
            };
            let typed =
                match output {
                    SampleType::Sint => Value::Sint(value.parse().map_err(|_| {
                        format!("line {}: value '{value}' is not an integer", n + 1)
                    })?),
                    SampleType::Ip => Value::Ip(value.parse().map_err(|_| {
                        format!("line {}: value '{value}' is not an IP address", n + 1)
                    })?),
                    _ => Value::Str(Cow::Owned(value.as_bytes().to_vec())),
                };
            keys.push(key.to_string());
            values.push(typed);
            raw.push(value.as_bytes().into());
        }
        let patterns = PatternSet::new(method, false, keys.iter().map(String::as_str))
            .map_err(|e| format!("invalid key: {e}"))?;
        Ok(Self {
            patterns,
            values,
            raw,
            keys: keys.into_iter().map(|k| k.into_bytes().into()).collect(),
            output,
        })
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether the map has no entry.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The value for `key`, borrowed from the map.
    pub fn lookup(&self, key: &Value<'_>) -> Option<Value<'_>> {
        let i = self.patterns.lookup(key)?;
        self.values
            .get(usize::try_from(i).ok()?)
            .map(Value::reborrow)
    }

    /// The key of the entry `key` matches.
    pub fn lookup_key(&self, key: &Value<'_>) -> Option<&[u8]> {
        let i = self.patterns.lookup(key)?;
        self.keys.get(usize::try_from(i).ok()?).map(|k| &k[..])
    }

    /// `map_regm`: the value with `\N` replaced by the regex's groups.
    pub fn lookup_regm(&self, key: &[u8]) -> Option<Value<'static>> {
        let (re, i) = self.patterns.lookup_regex(key)?;
        let caps = re.captures(key)?;
        let mut out = Vec::new();
        super::conv::expand(self.raw.get(usize::try_from(i).ok()?)?, &caps, &mut out);
        Some(Value::Str(Cow::Owned(out)))
    }

    /// The converter's default argument, typed as the map's output.
    pub fn default_value<'a>(&self, arg: Option<&'a Arg>) -> Option<Value<'a>> {
        let text = arg?.bytes()?;
        match self.output {
            SampleType::Sint => super::value::parse_int_prefix(text).map(Value::Sint),
            SampleType::Ip => Value::str(text).to_ip().map(Value::Ip),
            _ => Some(Value::str(text)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_values_and_comments() {
        let m = Map::parse(
            "# hosts\nexample.com  be_a\n\nexample.org\tbe b\n",
            MatchMethod::Str,
            SampleType::Str,
        )
        .unwrap();
        assert_eq!(m.len(), 2);
        assert_eq!(
            m.lookup(&Value::str(b"example.org")),
            Some(Value::str(b"be b"))
        );
        assert_eq!(m.lookup(&Value::str(b"example.net")), None);
    }

    #[test]
    fn typed_values_are_checked_when_loading() {
        assert!(Map::parse("a x\n", MatchMethod::Str, SampleType::Sint).is_err());
        let m = Map::parse("10.0.0.0/8 1\n", MatchMethod::Ip, SampleType::Sint).unwrap();
        assert_eq!(
            m.lookup(&Value::Ip("10.2.3.4".parse().unwrap())),
            Some(Value::Sint(1))
        );
    }

    #[test]
    fn regm_substitutes_groups() {
        let m = Map::parse("^/u/([a-z]+) user-\\1\n", MatchMethod::Reg, SampleType::Str).unwrap();
        assert_eq!(
            m.lookup_regm(b"/u/bob"),
            Some(Value::string(b"user-bob".to_vec()))
        );
    }
}

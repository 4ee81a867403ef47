//! The one memory budget of explainme.
//!
//! A 520-byte header can claim a 4 GB image, a 1 KB network file can declare a table of 10^18
//! cells, a 173-byte ONNX graph can expand to 14 GB. Every allocation whose size comes from
//! external data (a header, a declared shape, a requested count) is therefore checked first
//! against a [`MemoryBudget`], and refused with [`OverBudget`] *before* anything is allocated.
//! The gRPC layer maps [`OverBudget`] to `RESOURCE_EXHAUSTED`; the CLI prints it as one line.
//!
//! The budget is a limit per operation (one decode, one table, one inference batch), not a
//! global counter: the server handles many requests at once, so the default
//! ([`MemoryBudget::DEFAULT_BYTES`], 1 GiB) leaves room for a score of them on a 24 GB machine.
//! It is configured once (`explainme --memory-budget 2GiB …`, `serve --memory-budget`) and
//! handed down to every crate that decodes or sizes external data.
//!
//! Deliberately not here: accounting of memory already in use, or allocator hooks. A budget
//! check names what it is about to allocate; that is all.
//!
//! ```
//! use explainme_budget::MemoryBudget;
//!
//! let budget: MemoryBudget = "64MiB".parse()?;
//! // 4096 × 4096 f32 voxels = 64 MiB: fits exactly.
//! budget.check_elements("a 4096×4096 slice", &[4096, 4096], 4)?;
//! // A header claiming 2^40 voxels is refused before anything is allocated.
//! let err = budget.check_elements("the voxels of `ct.nii`", &[1 << 20, 1 << 20], 4).unwrap_err();
//! assert!(err.to_string().contains("over the memory budget of 64 MiB"));
//! // So is a product that does not even fit in 64 bits.
//! assert!(budget.check_elements("a table", &[u64::MAX, 2], 8).is_err());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::str::FromStr;

/// A limit, in bytes, on what one operation may allocate for external data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MemoryBudget {
    limit: u64,
}

impl MemoryBudget {
    /// The default limit: 1 GiB. A 512×512×1000 CT series in `f32` (1 GiB) is the largest
    /// single image it admits; twenty such operations at once still fit a 24 GB machine.
    pub const DEFAULT_BYTES: u64 = 1 << 30;

    /// A budget of `limit` bytes. Zero is allowed and refuses every allocation, which tests use.
    pub const fn new(limit: u64) -> Self {
        MemoryBudget { limit }
    }

    /// The limit in bytes.
    pub const fn limit(&self) -> u64 {
        self.limit
    }

    /// Succeeds when `bytes` fit the budget; `what` names the allocation in the error.
    pub fn check(&self, what: impl fmt::Display, bytes: u64) -> Result<(), OverBudget> {
        if bytes <= self.limit {
            Ok(())
        } else {
            Err(OverBudget {
                what: what.to_string(),
                needed: Needed::Bytes(bytes),
                limit: self.limit,
            })
        }
    }

    /// Checks `product(dims) × element_bytes`, computed without overflow: a product that
    /// does not fit 64 bits is over any budget.
    pub fn check_elements(
        &self,
        what: impl fmt::Display,
        dims: &[u64],
        element_bytes: u64,
    ) -> Result<(), OverBudget> {
        match bytes_for(dims, element_bytes) {
            Some(bytes) => self.check(what, bytes),
            None => Err(OverBudget {
                what: what.to_string(),
                needed: Needed::Overflow,
                limit: self.limit,
            }),
        }
    }

    /// How many items of `item_bytes` each fit the budget (at least 1 when `item_bytes` fits,
    /// 0 when even one does not). Used to split a batch into chunks that fit.
    pub fn items_within(&self, item_bytes: u64) -> u64 {
        self.limit.checked_div(item_bytes).unwrap_or(u64::MAX)
    }
}

impl Default for MemoryBudget {
    fn default() -> Self {
        MemoryBudget::new(Self::DEFAULT_BYTES)
    }
}

impl fmt::Display for MemoryBudget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&human_bytes(self.limit))
    }
}

/// `product(dims) × element_bytes`, or `None` when it overflows 64 bits.
pub fn bytes_for(dims: &[u64], element_bytes: u64) -> Option<u64> {
    dims.iter()
        .try_fold(element_bytes, |acc, &d| acc.checked_mul(d))
}

/// Parses `1073741824`, `512MiB`, `2GiB`, `1.5GB`, `64k` (case-insensitive; `k`/`m`/`g`/`t`
/// alone are binary, `KB`/`MB`/… decimal, `KiB`/`MiB`/… binary).
impl FromStr for MemoryBudget {
    type Err = ParseBudgetError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || ParseBudgetError(text.to_owned());
        let trimmed = text.trim();
        let split = trimmed
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(trimmed.len());
        let (number, unit) = trimmed.split_at(split);
        let number: f64 = number.parse().map_err(|_| bad())?;
        let multiplier: f64 = match unit.trim().to_ascii_lowercase().as_str() {
            "" | "b" => 1.0,
            "k" | "kib" => 1024.0,
            "m" | "mib" => 1024.0 * 1024.0,
            "g" | "gib" => 1024.0 * 1024.0 * 1024.0,
            "t" | "tib" => 1024.0f64.powi(4),
            "kb" => 1e3,
            "mb" => 1e6,
            "gb" => 1e9,
            "tb" => 1e12,
            _ => return Err(bad()),
        };
        let bytes = number * multiplier;
        // 2^64 is exactly representable; anything at or above it does not fit.
        if !bytes.is_finite() || bytes >= 18_446_744_073_709_551_616.0 {
            return Err(bad());
        }
        Ok(MemoryBudget::new(bytes.round() as u64))
    }
}

/// A budget that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid memory budget `{0}`: expected a size such as 512MiB, 2GiB or 1073741824")]
pub struct ParseBudgetError(String);

/// An allocation refused because it would exceed the budget.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} {}", self.verdict())]
pub struct OverBudget {
    what: String,
    needed: Needed,
    limit: u64,
}

/// How much a refused allocation needed, as far as is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Needed {
    Bytes(u64),
    /// The size overflows 64 bits.
    Overflow,
    /// An allocator with this budget as its cap refused, without saying the total.
    Unknown,
}

impl OverBudget {
    /// A refusal reported by an allocator that enforces `budget` itself (ONNX Runtime's
    /// capped arena), which knows it is full but not what the whole operation needed.
    pub fn reported(what: impl fmt::Display, budget: &MemoryBudget) -> Self {
        OverBudget {
            what: what.to_string(),
            needed: Needed::Unknown,
            limit: budget.limit,
        }
    }

    /// What was about to be allocated.
    pub fn what(&self) -> &str {
        &self.what
    }

    /// The bytes it needed; `None` when the size overflows 64 bits or is not known.
    pub fn needed(&self) -> Option<u64> {
        match self.needed {
            Needed::Bytes(bytes) => Some(bytes),
            Needed::Overflow | Needed::Unknown => None,
        }
    }

    /// The budget in force.
    pub fn limit(&self) -> u64 {
        self.limit
    }

    fn verdict(&self) -> String {
        let limit = human_bytes(self.limit);
        match self.needed {
            Needed::Bytes(bytes) => format!(
                "would need {}, over the memory budget of {limit}",
                human_bytes(bytes)
            ),
            Needed::Overflow => {
                format!("would need more than 2^64 bytes, over the memory budget of {limit}")
            }
            Needed::Unknown => format!("does not fit the memory budget of {limit}"),
        }
    }
}

/// `1536` → `1.5 KiB`, `1073741824` → `1 GiB`: binary units, at most one decimal.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 7] = ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} bytes")
    } else {
        let text = format!("{value:.1}");
        let text = text.strip_suffix(".0").unwrap_or(&text);
        format!("{text} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_in_every_unit() {
        let cases = [
            ("1073741824", 1 << 30),
            ("512MiB", 512 << 20),
            ("2GiB", 2 << 30),
            ("2g", 2 << 30),
            ("1.5GB", 1_500_000_000),
            ("64 KiB", 64 << 10),
            ("0", 0),
        ];
        for (text, want) in cases {
            assert_eq!(
                text.parse::<MemoryBudget>().unwrap().limit(),
                want,
                "{text}"
            );
        }
        for bad in ["", "GiB", "-1GiB", "1 parsec", "1e30", "99999999999TiB"] {
            assert!(bad.parse::<MemoryBudget>().is_err(), "{bad}");
        }
    }

    #[test]
    fn checks_refuse_over_the_limit_and_on_overflow() {
        let budget = MemoryBudget::new(1000);
        assert!(budget.check("x", 1000).is_ok());
        let err = budget.check("a PNG's pixels", 1001).unwrap_err();
        assert_eq!(
            err.to_string(),
            "a PNG's pixels would need 1001 bytes, over the memory budget of 1000 bytes"
        );
        let err = budget.check_elements("a table", &[100; 10], 8).unwrap_err();
        assert_eq!(err.needed(), None);
        assert!(err.to_string().contains("more than 2^64 bytes"));
        let err = OverBudget::reported("a tensor", &budget);
        assert_eq!(
            err.to_string(),
            "a tensor does not fit the memory budget of 1000 bytes"
        );
    }

    #[test]
    fn items_within_splits_batches() {
        let budget = MemoryBudget::new(1000);
        assert_eq!(budget.items_within(300), 3);
        assert_eq!(budget.items_within(1001), 0);
        assert_eq!(budget.items_within(0), u64::MAX);
    }

    #[test]
    fn human_bytes_reads_well() {
        assert_eq!(human_bytes(0), "0 bytes");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(1 << 30), "1 GiB");
        assert_eq!(human_bytes(14_400_000_000), "13.4 GiB");
    }
}

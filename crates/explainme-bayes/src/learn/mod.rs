//! Learning from categorical records: parameters for a given structure ([`Parameters`]),
//! structure by score search ([`HillClimb`]), both under clinical knowledge given as
//! [`Constraints`].

mod constraints;
mod hill_climb;
mod params;

pub use constraints::Constraints;
pub use hill_climb::{HillClimb, HillClimbParams};
pub use params::{Parameters, ParametersParams, Prior};

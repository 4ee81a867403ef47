//! Exchange formats: BIF (read and write), XMLBIF and Graphviz DOT (write).
//!
//! BIF is the interchange format of the bnlearn repository and pgmpy; XMLBIF is what
//! pgmpy, Weka and SamIam load; DOT is for looking at a structure. Reading XMLBIF is not
//! offered: nothing in the project produces it for us to read.

pub mod bif;
pub mod dot;
pub mod xmlbif;

pub use bif::{read_bif, read_bif_within, write_bif};
pub use dot::write_dot;
pub use xmlbif::write_xmlbif;

/// Parent configurations of a CPT, last parent fastest: yields the state index of each parent
/// per row, in the row order of [`crate::Cpt::values`].
pub(crate) fn parent_configurations(cards: &[usize]) -> impl Iterator<Item = Vec<usize>> + '_ {
    let rows: usize = cards.iter().product();
    (0..rows).map(move |mut row| {
        let mut config = vec![0; cards.len()];
        for (slot, &card) in config.iter_mut().zip(cards).rev() {
            *slot = row % card;
            row /= card;
        }
        config
    })
}

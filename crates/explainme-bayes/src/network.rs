//! The plain data types: [`Variable`], [`Cpt`], [`Dag`] and [`BayesNet`].
//!
//! A network is a petgraph `DiGraph` whose node index *is* the variable index, with one
//! CPT per node. Construction checks everything once (state names unique, tables of the
//! right shape, no directed cycle), so the algorithms downstream never re-validate.

use std::collections::HashMap;

use petgraph::algo::toposort;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::io::bif::{check_network_name, check_variable};

/// A discrete variable with named states, in a fixed order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Variable {
    pub name: String,
    pub states: Vec<String>,
}

impl Variable {
    /// A variable; at least one state, no duplicate state names.
    pub fn new(name: impl Into<String>, states: Vec<String>) -> Result<Self> {
        let name = name.into();
        if states.is_empty() {
            return Err(Error::NoStates(name));
        }
        for (i, state) in states.iter().enumerate() {
            if states[..i].contains(state) {
                return Err(Error::Duplicate(format!("{name}={state}")));
            }
        }
        Ok(Self { name, states })
    }

    /// Number of states.
    pub fn cardinality(&self) -> usize {
        self.states.len()
    }

    /// The index of a state, or a typed error naming the variable and its states.
    pub fn state_index(&self, state: &str) -> Result<usize> {
        self.states
            .iter()
            .position(|s| s == state)
            .ok_or_else(|| Error::UnknownState {
                variable: self.name.clone(),
                state: state.to_owned(),
                known: self.states.join(", "),
            })
    }
}

/// A conditional probability table P(child | parents).
///
/// `values` holds one row per parent configuration and one column per child state, row-major;
/// parent configurations are enumerated with the *last* parent varying fastest — the
/// order of the `(p1, p2) v1, v2;` rows in BIF and of `<TABLE>` in XMLBIF.
#[derive(Debug, Clone, PartialEq)]
pub struct Cpt {
    pub parents: Vec<usize>,
    pub values: Vec<f64>,
}

impl Cpt {
    /// How far the sum of a row may stray from 1: `1e-3`, absolute.
    ///
    /// BIF files print rounded numbers: a row of k entries printed with d decimals is off by
    /// at most k · ½ · 10^-d, so four decimals stay within this tolerance up to 20 states, and
    /// the bnlearn networks are off by 1e-7 at most. A row further off is not rounding but a
    /// wrong table (`0.3, 0.3`, `2, 8`, all zeros) that inference would otherwise rescale
    /// silently, so it is refused. pgmpy's own check (`atol = 0.01`) is looser: every table
    /// accepted here loads in pgmpy too. Rows within the tolerance are rescaled to sum to
    /// exactly one before inference.
    pub const ROW_SUM_TOLERANCE: f64 = 1e-3;

    /// The row of P(child | parent configuration `row`).
    pub fn row(&self, row: usize, child_cardinality: usize) -> &[f64] {
        &self.values[row * child_cardinality..(row + 1) * child_cardinality]
    }
}

/// Checks the CPT of variable `child` against `variables`: parents known, distinct and not
/// the child; `Π parent cardinalities × child cardinality` values; and every row a
/// probability distribution — entries finite and non-negative, summing to 1 within
/// [`Cpt::ROW_SUM_TOLERANCE`]. Errors name the row by its parent states.
///
/// The one validation of a table: [`BayesNet::new`] runs it, and so does the BIF reader
/// (which adds the line of the block), so a table from any source meets the same rules.
pub(crate) fn check_cpt(variables: &[Variable], child: usize, cpt: &Cpt) -> Result<()> {
    let variable = &variables[child];
    let bad = |reason: String| Error::BadCpt {
        variable: variable.name.clone(),
        reason,
    };
    let card = variable.cardinality();
    let mut size = Some(card);
    for (k, &p) in cpt.parents.iter().enumerate() {
        if p >= variables.len() || cpt.parents[..k].contains(&p) || p == child {
            return Err(bad(format!("invalid or repeated parent index {p}")));
        }
        size = size.and_then(|s| s.checked_mul(variables[p].cardinality()));
    }
    match size {
        Some(size) if size == cpt.values.len() => {}
        Some(size) => return Err(bad(format!("{} values, expected {size}", cpt.values.len()))),
        None => return Err(bad("the table size overflows".into())),
    }
    for (row, probabilities) in cpt.values.chunks(card).enumerate() {
        for (state, &p) in probabilities.iter().enumerate() {
            let problem = if p.is_nan() {
                "is NaN, not a probability"
            } else if p.is_infinite() {
                "is not finite"
            } else if p < 0.0 {
                "is negative"
            } else {
                continue;
            };
            let entry = describe_row(variables, child, &cpt.parents, row, Some(state));
            let value = if p.is_nan() {
                String::new()
            } else {
                format!(" = {p}")
            };
            return Err(bad(format!("{entry}{value} {problem}")));
        }
        let total: f64 = probabilities.iter().sum();
        if (total - 1.0).abs() > Cpt::ROW_SUM_TOLERANCE {
            let distribution = describe_row(variables, child, &cpt.parents, row, None);
            return Err(bad(format!(
                "{distribution} sums to {}, not 1 ± {}",
                short(total),
                Cpt::ROW_SUM_TOLERANCE
            )));
        }
    }
    Ok(())
}

/// `P(child | a=x, b=y)` for row `row` of a CPT, or `P(child=s | …)` for one entry.
fn describe_row(
    variables: &[Variable],
    child: usize,
    parents: &[usize],
    mut row: usize,
    state: Option<usize>,
) -> String {
    let mut given = vec![String::new(); parents.len()];
    for (slot, &p) in given.iter_mut().zip(parents).rev() {
        let card = variables[p].cardinality();
        *slot = format!("{}={}", variables[p].name, variables[p].states[row % card]);
        row /= card;
    }
    let variable = &variables[child];
    let head = match state {
        Some(s) => format!("{}={}", variable.name, variable.states[s]),
        None => variable.name.clone(),
    };
    if given.is_empty() {
        format!("P({head})")
    } else {
        format!("P({head} | {})", given.join(", "))
    }
}

/// A sum for an error message: six decimals at most, trailing zeros dropped (0.6, 10, 0.9989).
fn short(value: f64) -> String {
    let text = format!("{value:.6}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        text
    }
}

/// A directed acyclic graph over variables `0..n`, as structure learning produces it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Dag {
    parents: Vec<Vec<usize>>,
}

impl Dag {
    /// The empty graph over `n` variables.
    pub fn empty(n: usize) -> Self {
        Self {
            parents: vec![Vec::new(); n],
        }
    }

    /// A DAG from per-variable parent lists; a cycle gives [`Error::Cycle`] naming an index.
    pub fn from_parents(parents: Vec<Vec<usize>>) -> Result<Self> {
        let n = parents.len();
        let mut dag = Self::empty(n);
        for (child, ps) in parents.into_iter().enumerate() {
            for p in ps {
                if p >= n {
                    return Err(Error::UnknownVariable(p.to_string()));
                }
                if !dag.parents[child].contains(&p) {
                    dag.parents[child].push(p);
                }
            }
            dag.parents[child].sort_unstable();
        }
        if let Err(cycle) = toposort(&dag.graph(), None) {
            return Err(Error::Cycle {
                variable: cycle.node_id().index().to_string(),
            });
        }
        Ok(dag)
    }

    /// Number of variables.
    pub fn len(&self) -> usize {
        self.parents.len()
    }

    /// True for the graph over no variables.
    pub fn is_empty(&self) -> bool {
        self.parents.is_empty()
    }

    /// The sorted parents of `child`.
    pub fn parents(&self, child: usize) -> &[usize] {
        &self.parents[child]
    }

    /// Whether the arc `from → to` is present.
    pub fn has_edge(&self, from: usize, to: usize) -> bool {
        self.parents[to].binary_search(&from).is_ok()
    }

    /// All arcs `(from, to)`, sorted by child then parent.
    pub fn edges(&self) -> Vec<(usize, usize)> {
        let mut edges = Vec::new();
        for (to, ps) in self.parents.iter().enumerate() {
            edges.extend(ps.iter().map(|&from| (from, to)));
        }
        edges
    }

    /// The graph as a petgraph `DiGraph`; node index = variable index.
    pub fn graph(&self) -> DiGraph<(), ()> {
        let mut graph = DiGraph::with_capacity(self.len(), 0);
        for _ in 0..self.len() {
            graph.add_node(());
        }
        for (from, to) in self.edges() {
            graph.add_edge(NodeIndex::new(from), NodeIndex::new(to), ());
        }
        graph
    }

    pub(crate) fn set_parents(&mut self, child: usize, mut parents: Vec<usize>) {
        parents.sort_unstable();
        self.parents[child] = parents;
    }
}

/// A discrete Bayesian network: variables as petgraph nodes, arcs parent → child, one CPT
/// per variable.
#[derive(Debug, Clone)]
pub struct BayesNet {
    name: String,
    graph: DiGraph<Variable, ()>,
    cpts: Vec<Cpt>,
    index: HashMap<String, usize>,
    topological: Vec<usize>,
}

impl BayesNet {
    /// Builds and validates a network: names that BIF can carry ([`check_network_name`],
    /// [`check_variable`]), so that every network can be written and read back), unique
    /// variable names, parents known, each CPT of
    /// size `Π parent cardinalities × child cardinality` whose rows are probability
    /// distributions (finite, non-negative, summing to 1 within [`Cpt::ROW_SUM_TOLERANCE`]),
    /// and no directed cycle ([`Error::Cycle`] names a variable on it).
    pub fn new(name: impl Into<String>, variables: Vec<Variable>, cpts: Vec<Cpt>) -> Result<Self> {
        if variables.len() != cpts.len() {
            return Err(Error::BadCpt {
                variable: String::new(),
                reason: format!("{} variables but {} tables", variables.len(), cpts.len()),
            });
        }
        let name = name.into();
        check_network_name(&name)?;
        let mut index = HashMap::with_capacity(variables.len());
        for (i, variable) in variables.iter().enumerate() {
            check_variable(variable)?;
            if index.insert(variable.name.clone(), i).is_some() {
                return Err(Error::Duplicate(variable.name.clone()));
            }
        }
        for (child, cpt) in cpts.iter().enumerate() {
            check_cpt(&variables, child, cpt)?;
        }
        let mut graph = DiGraph::with_capacity(variables.len(), 0);
        for variable in variables {
            graph.add_node(variable);
        }
        for (child, cpt) in cpts.iter().enumerate() {
            for &p in &cpt.parents {
                graph.add_edge(NodeIndex::new(p), NodeIndex::new(child), ());
            }
        }
        let topological = match toposort(&graph, None) {
            Ok(order) => order.into_iter().map(NodeIndex::index).collect(),
            Err(cycle) => {
                return Err(Error::Cycle {
                    variable: graph[cycle.node_id()].name.clone(),
                });
            }
        };
        Ok(Self {
            name,
            graph,
            cpts,
            index,
            topological,
        })
    }

    /// The network's name (BIF `network <name>`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Number of variables.
    pub fn len(&self) -> usize {
        self.cpts.len()
    }

    /// True for the network over no variables.
    pub fn is_empty(&self) -> bool {
        self.cpts.is_empty()
    }

    /// The underlying petgraph graph (node index = variable index).
    pub fn graph(&self) -> &DiGraph<Variable, ()> {
        &self.graph
    }

    /// Variable `i`.
    pub fn variable(&self, i: usize) -> &Variable {
        &self.graph[NodeIndex::new(i)]
    }

    /// All variables in index order.
    pub fn variables(&self) -> impl Iterator<Item = &Variable> {
        self.graph.node_weights()
    }

    /// The index of a variable by name.
    pub fn index_of(&self, name: &str) -> Result<usize> {
        self.index
            .get(name)
            .copied()
            .ok_or_else(|| Error::UnknownVariable(name.to_owned()))
    }

    /// Resolves `(variable, state)` names to indices, with typed errors for either.
    pub fn resolve(&self, variable: &str, state: &str) -> Result<(usize, usize)> {
        let v = self.index_of(variable)?;
        Ok((v, self.variable(v).state_index(state)?))
    }

    /// The CPT of variable `i`.
    pub fn cpt(&self, i: usize) -> &Cpt {
        &self.cpts[i]
    }

    /// The parents of variable `i`, in CPT order.
    pub fn parents(&self, i: usize) -> &[usize] {
        &self.cpts[i].parents
    }

    /// The children of variable `i`.
    pub fn children(&self, i: usize) -> Vec<usize> {
        let mut children: Vec<usize> = self
            .graph
            .edges(NodeIndex::new(i))
            .map(|e| e.target().index())
            .collect();
        children.sort_unstable();
        children
    }

    /// Variables in a topological order (parents before children).
    pub fn topological_order(&self) -> &[usize] {
        &self.topological
    }

    /// The structure as a [`Dag`].
    pub fn dag(&self) -> Dag {
        let mut dag = Dag::empty(self.len());
        for i in 0..self.len() {
            dag.set_parents(i, self.parents(i).to_vec());
        }
        dag
    }

    /// Cardinalities of all variables, in index order.
    pub fn cardinalities(&self) -> Vec<usize> {
        self.variables().map(Variable::cardinality).collect()
    }
}

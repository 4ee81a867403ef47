//! Graph surgery for exports with a fixed batch of 1: make the batch axis symbolic where the
//! graph provably treats cases independently, and say so.
//!
//! Many real exports fix the batch dimension at 1 (`torch.onnx.export` with a dummy input
//! and no `dynamic_axes`, tf2onnx with a fixed signature). Running such a model one case at a
//! time is always correct but slow; rewriting the declared shapes to a symbolic batch makes
//! it batchable, but only if no operator mixes cases or hard-codes the batch. So the rewrite
//! is proven, not hoped for: the batch axis is followed from the input through every node
//! that reads it, and each operator must be one whose rule is known to keep axis 0 as the
//! batch (element-wise operators with broadcasts that cannot touch axis 0, convolutions and
//! pools, `Gemm` without `transA`, `MatMul` on rank ≥ 2, `Flatten` at axis ≥ 1, `Transpose`
//! keeping axis 0 first, softmax, reductions, `Concat`, `Squeeze`, `Unsqueeze` and `Pad`
//! away from axis 0, `Reshape` under the rule below). Anything else that reads a
//! batch-carrying tensor (`Shape`, `Gather`, `Expand`, control flow, …) refuses the
//! rewrite, and the session then runs cases one by one ([`Batching::OneByOne`], with the
//! reason).
//!
//! `Reshape` is where exports hard-code the batch. With the data's axis 0 being the batch,
//! a target shape starting with `0` (copy axis 0) is kept; one starting with the fixed batch
//! (`[1, -1]`, `[1, 512]`, `[1, 8, 8, 64]`) is rewritten to start with `0`, which is the same
//! at batch 1 and keeps each case's values together at batch N (the rest of the shape
//! describes one case); one starting with `-1` is kept only when the graph proves that `-1`
//! is the batch (the output's declared axis 0 is 1, or the per-case input size equals the
//! product of the other extents). Every other target (`[16]`, `[4, 4]` from 16 values per
//! case) folds the batch into another axis and refuses the rewrite.
//!
//! Deliberately not done: evaluating shape sub-graphs (`Shape → Gather → Concat → Reshape`,
//! which PyTorch emits for `x.view(x.size(0), -1)`) or changing a fixed batch larger than 1.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::model::{ACTIVATION_OPS, BROADCAST_OPS, CHANNELS_FIRST_OPS, UNARY_OPS};
use crate::proto::{self, tensor_proto::DataType};
use crate::{Dim, Error, Model, Result};

/// How a session feeds a batch to the graph: as the export allows, after making a fixed
/// batch of 1 symbolic, or one case per run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum Batching {
    /// The graph's batch axis is symbolic (or undeclared): any batch runs in one go.
    Native,
    /// The export fixed the batch at 1; the declared shapes (and `Reshape` targets that
    /// started with the batch) were rewritten so any batch runs in one go.
    MadeSymbolic,
    /// The export fixed the batch at 1 and the graph could not be proven to keep cases
    /// apart, so every case runs on its own: correct, and as slow as N single runs.
    OneByOne {
        /// Why the batch could not be made symbolic, naming the node at fault.
        reason: String,
    },
}

impl Batching {
    /// One line for people, e.g. `made symbolic (the export fixed the batch at 1)`.
    pub fn describe(&self) -> String {
        match self {
            Batching::Native => "native (the graph takes any batch size)".into(),
            Batching::MadeSymbolic => {
                "made symbolic (the export fixed the batch at 1; explainme rewrote the graph \
                 so that batches run in one go)"
                    .into()
            }
            Batching::OneByOne { reason } => format!(
                "one by one (the export fixed the batch at 1 and it cannot be made symbolic: \
                 {reason}; each case runs on its own)"
            ),
        }
    }
}

/// The symbolic name given to a batch axis made symbolic.
const BATCH: &str = "N";

impl Model {
    /// How this model's `input` can take a batch; with [`Batching::MadeSymbolic`], also the
    /// rewritten model to run.
    ///
    /// An input whose batch axis is symbolic, unknown or undeclared is
    /// [`Batching::Native`]. A batch fixed at 1 is made symbolic when the graph allows (see
    /// the module docs for the rules), else [`Batching::OneByOne`] names why not. A batch
    /// fixed above 1 is [`Error::Unsupported`]: neither a rewrite nor single runs fit it.
    /// Tensor names are never parsed, so tf2onnx names (`functional_1/conv1/Relu:0`) are
    /// fine.
    ///
    /// ```
    /// use explainme_onnx::builder::GraphBuilder;
    /// use explainme_onnx::{Batching, Dim};
    ///
    /// let mut g = GraphBuilder::new("fixed");
    /// g.input("x", &[1, 1, 4, 4].map(Dim::Fixed))
    ///     .node("Relu", &["x"], &["features/Relu:0"], vec![])
    ///     .node("GlobalAveragePool", &["features/Relu:0"], &["pooled"], vec![])
    ///     .int64s("shape", &[2], &[1, -1])
    ///     .node("Reshape", &["pooled", "shape"], &["y"], vec![])
    ///     .output("y", &[1, 1].map(Dim::Fixed));
    /// let (batching, rewritten) = g.model()?.symbolic_batch("x")?;
    /// assert_eq!(batching, Batching::MadeSymbolic);
    /// let rewritten = rewritten.expect("a rewritten model");
    /// assert_eq!(rewritten.summary().inputs[0].shape_text(), "[N, 1, 4, 4]");
    /// # Ok::<(), explainme_onnx::Error>(())
    /// ```
    pub fn symbolic_batch(&self, input: &str) -> Result<(Batching, Option<Model>)> {
        let info = self
            .summary()
            .inputs
            .iter()
            .find(|i| i.name == input)
            .ok_or_else(|| Error::UnknownTensor(input.to_owned()))?;
        let fixed = match info.shape.as_deref().and_then(<[Dim]>::first) {
            Some(Dim::Fixed(n)) => *n,
            _ => return Ok((Batching::Native, None)),
        };
        if fixed != 1 {
            return Err(Error::Unsupported(format!(
                "`{input}` has a fixed batch of {fixed}; explainme runs batches of any size \
                 (a symbolic batch axis) or models fixed at a batch of 1"
            )));
        }
        let graph = self
            .proto()
            .graph
            .as_ref()
            .ok_or_else(|| Error::MalformedModel("no graph".into()))?;
        match plan(graph, input, self.summary().opset) {
            Err(reason) => Ok((Batching::OneByOne { reason }, None)),
            Ok(plan) => {
                let mut proto = self.proto().clone();
                if let Some(graph) = proto.graph.as_mut() {
                    apply(graph, &plan);
                }
                Ok((Batching::MadeSymbolic, Some(Model::from_proto(proto)?)))
            }
        }
    }
}

/// What the rewrite changes: which tensors carry the batch on axis 0 and which `Reshape`
/// nodes (by index) get a new target shape.
struct Plan {
    batch_tensors: HashMap<String, Option<usize>>,
    reshapes: Vec<(usize, Vec<i64>)>,
}

/// Follows the batch axis from `input` through the graph; `Err` says why it cannot be
/// proven to stay axis 0 of every batch-carrying tensor.
fn plan(graph: &proto::GraphProto, input: &str, opset: i64) -> std::result::Result<Plan, String> {
    let constants = constants(graph);
    let declared: HashMap<&str, Vec<Dim>> = graph
        .value_info
        .iter()
        .chain(&graph.output)
        .chain(&graph.input)
        .filter_map(|v| Some((v.name(), declared_dims(v)?)))
        .collect();
    let mut batch: HashMap<String, Option<usize>> = HashMap::new();
    batch.insert(input.to_owned(), declared.get(input).map(|dims| dims.len()));
    let mut reshapes = Vec::new();
    for (index, node) in graph.node.iter().enumerate() {
        if !node.input.iter().any(|i| batch.contains_key(i)) {
            continue;
        }
        let name = if node.name().is_empty() {
            node.output.first().map_or("", String::as_str)
        } else {
            node.name()
        };
        let facts = Facts {
            node,
            batch: &batch,
            constants: &constants,
            declared: &declared,
            opset,
        };
        let rank = facts
            .rule(&mut |shape| reshapes.push((index, shape)))
            .map_err(|why| format!("{} node `{name}` {why}", node.op_type()))?;
        for output in node.output.iter().filter(|o| !o.is_empty()) {
            let rank = declared.get(output.as_str()).map(Vec::len).or(rank);
            if let Some(Some(Dim::Fixed(n))) = declared.get(output.as_str()).map(|d| d.first())
                && *n != 1
            {
                return Err(format!(
                    "`{output}` is declared with {n} on the batch axis, so `{name}` folds the \
                     batch into another axis"
                ));
            }
            batch.insert(output.clone(), rank);
        }
    }
    if let Some(output) = graph.output.iter().find(|o| !batch.contains_key(o.name())) {
        return Err(format!(
            "graph output `{}` does not depend on the input's batch",
            output.name()
        ));
    }
    Ok(Plan {
        batch_tensors: batch,
        reshapes,
    })
}

/// Rewrites declared batch axes of batch-carrying tensors to [`BATCH`] and points each
/// rewritten `Reshape` at a new shape initializer (the old one may have other readers).
fn apply(graph: &mut proto::GraphProto, plan: &Plan) {
    let symbolic = |v: &mut proto::ValueInfoProto| {
        if !plan.batch_tensors.contains_key(v.name()) {
            return;
        }
        if let Some(proto::type_proto::Value::TensorType(t)) =
            v.r#type.as_mut().and_then(|t| t.value.as_mut())
            && let Some(first) = t.shape.as_mut().and_then(|s| s.dim.first_mut())
        {
            first.value = Some(proto::tensor_shape_proto::dimension::Value::DimParam(
                BATCH.into(),
            ));
        }
    };
    graph
        .input
        .iter_mut()
        .chain(graph.output.iter_mut())
        .chain(graph.value_info.iter_mut())
        .for_each(symbolic);
    let taken: std::collections::HashSet<String> = graph
        .initializer
        .iter()
        .map(|t| t.name().to_owned())
        .chain(graph.node.iter().flat_map(|n| n.output.iter().cloned()))
        .collect();
    for (index, shape) in &plan.reshapes {
        let Some(node) = graph.node.get_mut(*index) else {
            continue;
        };
        let base = format!("{}/explainme_symbolic_batch_shape", node.input[1]);
        let name = (0..)
            .map(|k| {
                if k == 0 {
                    base.clone()
                } else {
                    format!("{base}_{k}")
                }
            })
            .find(|n| !taken.contains(n))
            .unwrap_or(base);
        node.input[1] = name.clone();
        graph.initializer.push(proto::TensorProto {
            name: Some(name),
            dims: vec![shape.len() as i64],
            data_type: Some(DataType::Int64 as i32),
            int64_data: shape.clone(),
            ..Default::default()
        });
    }
}

/// What a node's rule may consult.
struct Facts<'a> {
    node: &'a proto::NodeProto,
    batch: &'a HashMap<String, Option<usize>>,
    constants: &'a HashMap<String, Constant>,
    declared: &'a HashMap<&'a str, Vec<Dim>>,
    opset: i64,
}

/// A tensor whose value the graph fixes: an initializer or a `Constant` node's output.
pub(crate) struct Constant {
    pub(crate) dims: Vec<i64>,
    pub(crate) ints: Option<Vec<i64>>,
}

type Rule = std::result::Result<Option<usize>, String>;

/// How an operator treats the batch axis; `&mut dyn FnMut` receives `Reshape` rewrites.
type RuleFn = fn(&Facts<'_>, &mut dyn FnMut(Vec<i64>)) -> Rule;

/// The operators whose effect on the batch axis is known, each with its rule; the first
/// entry listing an operator decides, and an operator listed nowhere refuses the rewrite.
/// A new operator is one entry (or one name in a list).
const RULES: &[(&[&str], RuleFn)] = &[
    (&["BatchNormalization"], |f, r| f.batch_norm(r)),
    (ACTIVATION_OPS, |f, r| f.per_case(r)),
    (UNARY_OPS, |f, r| f.per_case(r)),
    (PER_CASE_OPS, |f, r| f.per_case(r)),
    (CHANNELS_FIRST_OPS, |f, r| f.per_case(r)),
    (BROADCAST_OPS, |f, r| f.elementwise(r)),
    (COMPARISON_OPS, |f, r| f.elementwise(r)),
    (REDUCE_OPS, |f, r| f.reduce(r)),
    (&["Softmax", "LogSoftmax", "Hardmax"], |f, r| f.softmax(r)),
    (&["ArgMax", "ArgMin"], |f, r| f.arg_reduce(r)),
    (&["Gemm"], |f, r| f.gemm(r)),
    (&["MatMul"], |f, r| f.matmul(r)),
    (&["Flatten"], |f, r| f.flatten(r)),
    (&["Transpose"], |f, r| f.transpose(r)),
    (&["Concat"], |f, r| f.concat(r)),
    (&["Squeeze", "Unsqueeze"], |f, r| f.squeeze(r)),
    (&["Pad"], |f, r| f.pad(r)),
    (&["Reshape"], |f, r| f.reshape(r)),
];

/// Operators that read input 0 per case and keep its rank, besides activations, other
/// unary operators and channels-first operators (convolutions, pools, normalisations);
/// their other inputs are parameters (weights, bounds, scales) that must not carry the
/// batch.
const PER_CASE_OPS: &[&str] = &["Floor", "Ceil", "Round", "Sign", "Not"];

/// Element-wise comparisons and selections with multidirectional broadcasting, besides the
/// arithmetic ones.
const COMPARISON_OPS: &[&str] = &[
    "Where",
    "Equal",
    "Greater",
    "Less",
    "GreaterOrEqual",
    "LessOrEqual",
    "And",
    "Or",
    "Xor",
    "Mod",
];

/// Reductions with an `axes` attribute (or input from opset 18, `ReduceSum` from 13).
const REDUCE_OPS: &[&str] = &[
    "ReduceMean",
    "ReduceMax",
    "ReduceMin",
    "ReduceSum",
    "ReduceProd",
    "ReduceL1",
    "ReduceL2",
    "ReduceLogSum",
    "ReduceLogSumExp",
    "ReduceSumSquare",
];

impl Facts<'_> {
    /// The rank of the node's batch-carrying outputs when known, or why the node may mix
    /// cases: the first entry of [`RULES`] that lists the operator decides. `rewrite`
    /// receives a `Reshape`'s new target shape.
    fn rule(&self, rewrite: &mut dyn FnMut(Vec<i64>)) -> Rule {
        let op = self.node.op_type();
        match RULES.iter().find(|(ops, _)| ops.contains(&op)) {
            Some((_, rule)) => rule(self, rewrite),
            None => Err(
                "reads a batch-carrying tensor, and explainme cannot prove that it \
                         keeps cases apart"
                    .into(),
            ),
        }
    }

    fn batch_norm(&self, rewrite: &mut dyn FnMut(Vec<i64>)) -> Rule {
        if self.int_attr("training_mode").unwrap_or(0) != 0 {
            return Err("normalises with the statistics of the batch (training_mode)".into());
        }
        self.per_case(rewrite)
    }

    fn per_case(&self, _: &mut dyn FnMut(Vec<i64>)) -> Rule {
        self.only_first_carries_batch()?;
        Ok(self.rank_of(0))
    }

    fn elementwise(&self, _: &mut dyn FnMut(Vec<i64>)) -> Rule {
        self.broadcast()
    }

    fn reduce(&self, _: &mut dyn FnMut(Vec<i64>)) -> Rule {
        self.only_first_carries_batch()?;
        let rank = self.rank_of(0);
        let axes = match self.int_list_attr("axes") {
            Some(axes) => axes,
            None => self
                .constant_input(1)
                .ok_or("reduces over all axes, the batch among them (no constant `axes`)")?,
        };
        if axes.is_empty() && self.int_attr("noop_with_empty_axes").unwrap_or(0) == 0 {
            return Err("reduces over all axes, the batch among them (empty `axes`)".into());
        }
        let axes = self.resolve(&axes, rank)?;
        if axes.contains(&0) {
            return Err("reduces over the batch axis".into());
        }
        Ok(if self.int_attr("keepdims").unwrap_or(1) == 0 {
            rank.map(|r| r.saturating_sub(axes.len()))
        } else {
            rank
        })
    }

    fn softmax(&self, _: &mut dyn FnMut(Vec<i64>)) -> Rule {
        self.only_first_carries_batch()?;
        let default = if self.opset >= 13 { -1 } else { 1 };
        self.not_axis_0(self.int_attr("axis").unwrap_or(default), self.rank_of(0))?;
        Ok(self.rank_of(0))
    }

    fn arg_reduce(&self, _: &mut dyn FnMut(Vec<i64>)) -> Rule {
        self.only_first_carries_batch()?;
        let rank = self.rank_of(0);
        self.not_axis_0(self.int_attr("axis").unwrap_or(0), rank)?;
        Ok(if self.int_attr("keepdims").unwrap_or(1) == 0 {
            rank.map(|r| r.saturating_sub(1))
        } else {
            rank
        })
    }

    fn gemm(&self, _: &mut dyn FnMut(Vec<i64>)) -> Rule {
        self.only_first_carries_batch()?;
        if self.int_attr("transA").unwrap_or(0) != 0 {
            return Err("transposes its batch-carrying input (transA)".into());
        }
        if self.node.input.len() > 2 {
            self.broadcasts_safely(2, Some(2))?;
        }
        Ok(Some(2))
    }

    fn matmul(&self, _: &mut dyn FnMut(Vec<i64>)) -> Rule {
        self.only_first_carries_batch()?;
        let Some(rank) = self.rank_of(0).filter(|&r| r >= 2) else {
            return Err("multiplies a batch-carrying tensor of unknown rank or rank 1".into());
        };
        match self.rank_of_other(1) {
            Some(1) => Ok(Some(rank - 1)),
            Some(2) => Ok(Some(rank)),
            _ => Err("multiplies by a tensor that is not a matrix or a vector".into()),
        }
    }

    fn flatten(&self, _: &mut dyn FnMut(Vec<i64>)) -> Rule {
        self.only_first_carries_batch()?;
        self.not_axis_0(self.int_attr("axis").unwrap_or(1), self.rank_of(0))?;
        Ok(Some(2))
    }

    fn transpose(&self, _: &mut dyn FnMut(Vec<i64>)) -> Rule {
        self.only_first_carries_batch()?;
        match self.int_list_attr("perm") {
            Some(perm) if perm.first() == Some(&0) => Ok(Some(perm.len())),
            _ => Err("moves the batch axis (its `perm` does not start with 0)".into()),
        }
    }

    fn concat(&self, _: &mut dyn FnMut(Vec<i64>)) -> Rule {
        if let Some(other) = self
            .node
            .input
            .iter()
            .find(|i| !self.batch.contains_key(*i))
        {
            return Err(format!("joins `{other}`, which does not carry the batch"));
        }
        self.not_axis_0(self.int_attr("axis").unwrap_or(0), self.rank_of(0))?;
        Ok(self.rank_of(0))
    }

    fn squeeze(&self, _: &mut dyn FnMut(Vec<i64>)) -> Rule {
        self.only_first_carries_batch()?;
        let rank = self.rank_of(0);
        let squeeze = self.node.op_type() == "Squeeze";
        let axes = match self.int_list_attr("axes") {
            Some(axes) => axes,
            None => self
                .constant_input(1)
                .ok_or("has no constant `axes` (a bare Squeeze drops the batch of 1)")?,
        };
        let out_rank = rank.map(|r| {
            if squeeze {
                r.saturating_sub(axes.len())
            } else {
                r + axes.len()
            }
        });
        let axes = self.resolve(&axes, if squeeze { rank } else { out_rank })?;
        if axes.contains(&0) {
            return Err("adds or removes axis 0, where the batch is".into());
        }
        Ok(out_rank)
    }

    fn pad(&self, _: &mut dyn FnMut(Vec<i64>)) -> Rule {
        self.only_first_carries_batch()?;
        let pads = match self.int_list_attr("pads") {
            Some(pads) => pads,
            None => self.constant_input(1).ok_or("has no constant `pads`")?,
        };
        if self.node.input.get(3).is_some_and(|a| !a.is_empty()) {
            return Err("pads chosen axes (opset 18 `axes`)".into());
        }
        let half = pads.len() / 2;
        if pads.first() != Some(&0) || pads.get(half) != Some(&0) {
            return Err("pads the batch axis".into());
        }
        Ok(self.rank_of(0))
    }

    /// The `Reshape` rule (module docs).
    fn reshape(&self, rewrite: &mut dyn FnMut(Vec<i64>)) -> Rule {
        self.only_first_carries_batch()?;
        if self.int_attr("allowzero").unwrap_or(0) != 0 {
            return Err("has allowzero set, so 0 cannot copy the batch".into());
        }
        let shape = self
            .constant_input(1)
            .ok_or("takes its target shape from a computed tensor")?;
        let rank = Some(shape.len());
        match shape.first() {
            Some(0) => Ok(rank),
            Some(1) => {
                let mut symbolic = shape.clone();
                symbolic[0] = 0;
                rewrite(symbolic);
                Ok(rank)
            }
            Some(-1) => {
                let output = self.node.output.first().map(String::as_str).unwrap_or("");
                let declared_one = matches!(
                    self.declared.get(output).and_then(|d| d.first()),
                    Some(Dim::Fixed(1))
                );
                let rest = &shape[1..];
                let per_case = self.per_case_size(0);
                if declared_one
                    || (rest.iter().all(|&d| d > 0)
                        && per_case.is_some_and(|p| p == rest.iter().product::<i64>()))
                {
                    Ok(rank)
                } else {
                    Err(format!(
                        "reshapes to {shape:?}, and nothing shows that its -1 is the batch"
                    ))
                }
            }
            _ => Err(format!(
                "reshapes to {shape:?}, folding the batch axis into a fixed extent"
            )),
        }
    }

    /// Broadcasting element-wise operators: every batch-carrying input of one known rank,
    /// every other input unable to reach axis 0.
    fn broadcast(&self) -> Rule {
        let ranks: Vec<Option<usize>> = self
            .node
            .input
            .iter()
            .filter(|i| self.batch.contains_key(*i))
            .map(|i| self.batch.get(i).copied().flatten())
            .collect();
        let rank = match ranks.as_slice() {
            [one] => *one,
            [first, rest @ ..] if first.is_some() && rest.iter().all(|r| r == first) => *first,
            _ => {
                return Err("combines batch-carrying tensors of unknown or different ranks".into());
            }
        };
        for slot in 0..self.node.input.len() {
            if !self.batch.contains_key(&self.node.input[slot]) && !self.node.input[slot].is_empty()
            {
                self.broadcasts_safely(slot, rank)?;
            }
        }
        Ok(rank)
    }

    /// A non-batch input broadcast against a batch-carrying tensor of `rank` cannot reach
    /// axis 0: a scalar, a lower rank, or the same rank with 1 on axis 0.
    fn broadcasts_safely(
        &self,
        slot: usize,
        rank: Option<usize>,
    ) -> std::result::Result<(), String> {
        let name = &self.node.input[slot];
        let dims = self.dims_of_other(slot).ok_or_else(|| {
            format!("broadcasts `{name}`, whose shape is not declared, against the batch")
        })?;
        let safe = dims.is_empty()
            || (dims.len() == 1 && dims[0] == 1)
            || rank.is_some_and(|r| dims.len() < r || (dims.len() == r && dims[0] == 1));
        if safe {
            Ok(())
        } else {
            Err(format!(
                "broadcasts `{name}` of shape {dims:?} onto the batch axis"
            ))
        }
    }

    fn only_first_carries_batch(&self) -> std::result::Result<(), String> {
        match self
            .node
            .input
            .iter()
            .skip(1)
            .find(|i| self.batch.contains_key(*i))
        {
            Some(other) => Err(format!(
                "takes the batch-carrying `{other}` as a parameter, not as its data"
            )),
            None if !self
                .node
                .input
                .first()
                .is_some_and(|i| self.batch.contains_key(i)) =>
            {
                Err("takes the batch-carrying tensor as a parameter, not as its data".into())
            }
            None => Ok(()),
        }
    }

    /// Fails when `axis` (negative counting from the end of `rank` axes) is 0 or cannot be
    /// resolved.
    fn not_axis_0(&self, axis: i64, rank: Option<usize>) -> std::result::Result<(), String> {
        if self.resolve(&[axis], rank)?.contains(&0) {
            Err("works along the batch axis".into())
        } else {
            Ok(())
        }
    }

    /// Axes with negative ones resolved against `rank`.
    fn resolve(&self, axes: &[i64], rank: Option<usize>) -> std::result::Result<Vec<i64>, String> {
        axes.iter()
            .map(|&a| match (a, rank) {
                (a, _) if a >= 0 => Ok(a),
                (a, Some(r)) => Ok(a + r as i64),
                (_, None) => Err("counts an axis from the end of a tensor of unknown rank".into()),
            })
            .collect()
    }

    /// Rank of the batch-carrying input at `slot`, when known.
    fn rank_of(&self, slot: usize) -> Option<usize> {
        self.node
            .input
            .get(slot)
            .and_then(|i| self.batch.get(i).copied().flatten())
    }

    /// Extents of a non-batch input: its constant value's dims or its declared shape.
    fn dims_of_other(&self, slot: usize) -> Option<Vec<i64>> {
        let name = self.node.input.get(slot)?;
        if let Some(c) = self.constants.get(name) {
            return Some(c.dims.clone());
        }
        self.declared
            .get(name.as_str())?
            .iter()
            .map(|d| match d {
                Dim::Fixed(n) => Some(*n),
                _ => None,
            })
            .collect()
    }

    fn rank_of_other(&self, slot: usize) -> Option<usize> {
        let name = self.node.input.get(slot)?;
        if let Some(c) = self.constants.get(name) {
            return Some(c.dims.len());
        }
        self.declared.get(name.as_str()).map(Vec::len)
    }

    /// Values per case of the batch-carrying input at `slot`, from its declared shape.
    fn per_case_size(&self, slot: usize) -> Option<i64> {
        let dims = self.declared.get(self.node.input.get(slot)?.as_str())?;
        dims.iter().skip(1).try_fold(1i64, |acc, d| match d {
            Dim::Fixed(n) if *n >= 0 => acc.checked_mul(*n),
            _ => None,
        })
    }

    fn constant_input(&self, slot: usize) -> Option<Vec<i64>> {
        self.constants.get(self.node.input.get(slot)?)?.ints.clone()
    }

    fn attribute(&self, name: &str) -> Option<&proto::AttributeProto> {
        self.node.attribute.iter().find(|a| a.name() == name)
    }

    fn int_attr(&self, name: &str) -> Option<i64> {
        self.attribute(name).and_then(|a| a.i)
    }

    fn int_list_attr(&self, name: &str) -> Option<Vec<i64>> {
        self.attribute(name).map(|a| a.ints.clone())
    }
}

/// Initializers and `Constant` node outputs, with their integer values when they are
/// integer tensors.
pub(crate) fn constants(graph: &proto::GraphProto) -> HashMap<String, Constant> {
    let mut found: HashMap<String, Constant> = graph
        .initializer
        .iter()
        .map(|t| (t.name().to_owned(), constant(t)))
        .collect();
    for node in graph.node.iter().filter(|n| n.op_type() == "Constant") {
        let Some(output) = node.output.first() else {
            continue;
        };
        let value = node.attribute.iter().find_map(|a| match a.name() {
            "value" => a.t.as_ref().map(constant),
            "value_ints" => Some(Constant {
                dims: vec![a.ints.len() as i64],
                ints: Some(a.ints.clone()),
            }),
            "value_int" => a.i.map(|i| Constant {
                dims: vec![],
                ints: Some(vec![i]),
            }),
            _ => None,
        });
        if let Some(value) = value {
            found.insert(output.clone(), value);
        }
    }
    found
}

fn constant(t: &proto::TensorProto) -> Constant {
    Constant {
        dims: t.dims.clone(),
        ints: int_values(t),
    }
}

/// The values of an `int64` or `int32` tensor, stored typed or as little-endian raw bytes.
pub(crate) fn int_values(t: &proto::TensorProto) -> Option<Vec<i64>> {
    let raw = t.raw_data.as_deref().filter(|r| !r.is_empty());
    match DataType::try_from(t.data_type()).ok()? {
        DataType::Int64 => match raw {
            Some(bytes) if bytes.len() % 8 == 0 => Some(
                bytes
                    .chunks_exact(8)
                    .map(|c| i64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
                    .collect(),
            ),
            Some(_) => None,
            None => Some(t.int64_data.clone()),
        },
        DataType::Int32 => match raw {
            Some(bytes) if bytes.len() % 4 == 0 => Some(
                bytes
                    .chunks_exact(4)
                    .map(|c| i64::from(i32::from_le_bytes([c[0], c[1], c[2], c[3]])))
                    .collect(),
            ),
            Some(_) => None,
            None => Some(t.int32_data.iter().map(|&v| i64::from(v)).collect()),
        },
        _ => None,
    }
}

/// The declared dims of a tensor value, when it declares a shape.
fn declared_dims(v: &proto::ValueInfoProto) -> Option<Vec<Dim>> {
    crate::model::tensor_dims(v)
}

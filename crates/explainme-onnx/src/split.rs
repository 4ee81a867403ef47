//! Splitting a graph at an intermediate tensor, and running the part after the cut.
//!
//! Gradient-free explanations that perturb a layer's activations (TCAV along a concept
//! direction, for one) need the network *from that layer on*: [`Model::tail`] keeps the
//! nodes downstream of a cut tensor and makes the cut tensor the graph's input, and
//! [`TailSession`] runs that tail on activations and reads the card's positive-class
//! probability, exactly as [`Session`](crate::Session) reads it from the whole model.
//!
//! A tail exists only when everything downstream can be computed from the cut tensor and the
//! weights: a skip connection that jumps over the cut (a residual block split in the middle)
//! or a second graph input makes the split fail with [`Error::Unsplittable`], naming the
//! tensor the tail would lack. Nothing here changes the values a node computes.

use crate::pool::Runners;
use std::collections::HashSet;

use ort::value::TensorRef;

use crate::model::value_info;
use crate::proto;
use crate::{Batching, Error, Model, ModelCard, Result, Tensor};

impl Model {
    /// The sub-graph that computes `outputs` from the tensor `cut`, which becomes its only
    /// input.
    ///
    /// The tail holds the nodes that (transitively) consume `cut` and lead to an output, the
    /// initializers they read and the declared shapes of what they compute; the cut's input
    /// declaration is the graph's own for that tensor. Fails with [`Error::UnknownTensor`] when no node
    /// produces `cut` or an output is not a tensor of the graph, and with
    /// [`Error::Unsplittable`] when an output needs a value that is neither downstream of
    /// the cut nor a weight (a skip connection over the cut, or another graph input).
    ///
    /// ```
    /// use explainme_onnx::{Dim, builder::GraphBuilder};
    ///
    /// // y = relu(x * 2) + 1, cut after the Relu
    /// let n = || Dim::Symbolic("N".into());
    /// let mut g = GraphBuilder::new("tiny");
    /// g.input("x", &[n(), Dim::Fixed(2)])
    ///     .weight("two", &[1], vec![2.0])
    ///     .weight("one", &[1], vec![1.0])
    ///     .node("Mul", &["x", "two"], &["m"], vec![])
    ///     .node("Relu", &["m"], &["r"], vec![])
    ///     .node("Add", &["r", "one"], &["y"], vec![])
    ///     .output("y", &[n(), Dim::Fixed(2)]);
    /// let tail = g.model()?.tail("r", &["y".to_owned()])?;
    /// assert_eq!(tail.summary().inputs[0].name, "r");
    /// assert_eq!(tail.summary().nodes.len(), 1); // only the Add
    /// # Ok::<(), explainme_onnx::Error>(())
    /// ```
    pub fn tail(&self, cut: &str, outputs: &[String]) -> Result<Model> {
        let source = self.proto();
        let graph = source
            .graph
            .as_ref()
            .ok_or_else(|| Error::MalformedModel("no graph".into()))?;
        if !self.summary().tensors.iter().any(|t| t.name == cut) {
            return Err(Error::UnknownTensor(cut.to_owned()));
        }
        if let Some(missing) = outputs.iter().find(|o| self.tensor(o).is_none()) {
            return Err(Error::UnknownTensor(missing.clone()));
        }

        // Forward: which values exist once `cut` is given. Nodes are in topological order
        // (ONNX requires it); a node runs in the tail when every input it names exists, and
        // the node that produces the cut itself is left out.
        let mut available: HashSet<&str> = graph.initializer.iter().map(|t| t.name()).collect();
        available.insert(cut);
        let mut runnable = vec![false; graph.node.len()];
        for (i, node) in graph.node.iter().enumerate() {
            if node.output.iter().any(|o| o == cut) {
                continue;
            }
            if node
                .input
                .iter()
                .all(|input| input.is_empty() || available.contains(input.as_str()))
            {
                runnable[i] = true;
                available.extend(node.output.iter().map(String::as_str));
            }
        }

        // Backward: the runnable nodes the outputs need; a needed value that cannot be
        // computed from the cut is the reason the split fails.
        let mut needed: HashSet<&str> = outputs.iter().map(String::as_str).collect();
        let mut keep = vec![false; graph.node.len()];
        for (i, node) in graph.node.iter().enumerate().rev() {
            let is_cut = |o: &String| o == cut;
            if node.output.iter().any(is_cut)
                || !node.output.iter().any(|o| needed.contains(o.as_str()))
            {
                continue;
            }
            if !runnable[i] {
                let lacking = node
                    .input
                    .iter()
                    .find(|input| !input.is_empty() && !available.contains(input.as_str()))
                    .cloned()
                    .unwrap_or_default();
                return Err(Error::Unsplittable {
                    cut: cut.to_owned(),
                    tensor: lacking,
                    node: node.name().to_owned(),
                });
            }
            keep[i] = true;
            needed.extend(
                node.input
                    .iter()
                    .filter(|input| !input.is_empty())
                    .map(String::as_str),
            );
        }
        if let Some(output) = outputs
            .iter()
            .find(|o| o.as_str() != cut && !available.contains(o.as_str()))
        {
            return Err(Error::Unsplittable {
                cut: cut.to_owned(),
                tensor: output.clone(),
                node: String::new(),
            });
        }
        if !keep.iter().any(|&k| k) {
            return Err(Error::Unsplittable {
                cut: cut.to_owned(),
                tensor: outputs.join(", "),
                node: "no node after the cut leads to the outputs".into(),
            });
        }

        let nodes: Vec<proto::NodeProto> = graph
            .node
            .iter()
            .zip(&keep)
            .filter(|(_, k)| **k)
            .map(|(n, _)| n.clone())
            .collect();
        let used: HashSet<&str> = nodes
            .iter()
            .flat_map(|n| n.input.iter().map(String::as_str))
            .collect();
        let produced: HashSet<&str> = nodes
            .iter()
            .flat_map(|n| n.output.iter().map(String::as_str))
            .collect();
        let input = self.cut_input(cut);
        let declared = |name: &str| {
            graph
                .value_info
                .iter()
                .chain(&graph.output)
                .find(|v| v.name() == name)
                .cloned()
                .unwrap_or_else(|| proto::ValueInfoProto {
                    name: Some(name.to_owned()),
                    ..Default::default()
                })
        };
        let tail_graph = proto::GraphProto {
            name: Some(format!("{} (tail after {cut})", graph.name())),
            node: nodes.clone(),
            initializer: graph
                .initializer
                .iter()
                .filter(|t| used.contains(t.name()))
                .cloned()
                .collect(),
            input: vec![input],
            output: outputs.iter().map(|o| declared(o)).collect(),
            value_info: graph
                .value_info
                .iter()
                .filter(|v| produced.contains(v.name()) && !outputs.iter().any(|o| o == v.name()))
                .cloned()
                .collect(),
            ..Default::default()
        };
        Model::from_proto(proto::ModelProto {
            graph: Some(tail_graph),
            ..source.clone()
        })
    }

    /// The declaration of `cut` as a graph input: its element type and shape as the graph
    /// declares them (a fixed batch of 1 stays fixed: [`TailSession`] deals with it as
    /// [`Session`](crate::Session) does), or a float of unknown shape when it does not say.
    fn cut_input(&self, cut: &str) -> proto::ValueInfoProto {
        const FLOAT: i32 = proto::tensor_proto::DataType::Float as i32;
        match self.tensor(cut).and_then(|t| t.shape.clone()) {
            Some(dims) => value_info(cut, FLOAT, &dims, None),
            None => {
                let mut v = value_info(cut, FLOAT, &[], None);
                if let Some(proto::type_proto::Value::TensorType(t)) =
                    v.r#type.as_mut().and_then(|t| t.value.as_mut())
                {
                    t.shape = None;
                }
                v
            }
        }
    }
}

/// The network after a cut tensor, ready to run on that tensor's values.
///
/// Built by [`TailSession::new`] from the whole model and its card; [`probabilities`]
/// returns the card's positive-class probability for a batch of activations, read from
/// the prediction output as [`Session::predict`](crate::Session::predict) reads it. A tail
/// whose cut has a fixed batch of 1 is made batchable where the graph allows, else run one
/// case at a time ([`Model::symbolic_batch`], [`batching`](TailSession::batching)).
///
/// [`probabilities`]: TailSession::probabilities
#[derive(Debug)]
pub struct TailSession {
    runners: crate::pool::Runners,
    cut: String,
    output: String,
    card: ModelCard,
    positive: usize,
    budget: explainme_budget::MemoryBudget,
    batching: Batching,
}

impl TailSession {
    /// Splits `model` at `cut` ([`Model::tail`], keeping the card's prediction output) and
    /// starts ONNX Runtime on the tail.
    pub fn new(model: &Model, card: &ModelCard, cut: &str) -> Result<TailSession> {
        card.validate(model)?;
        let output = card.prediction_output(model)?.name.clone();
        let tail = model.tail(cut, std::slice::from_ref(&output))?;
        let (mut batching, rewritten) = tail.symbolic_batch(cut)?;
        let runners = match rewritten.map(|r| Runners::new(r.to_bytes())) {
            None => Runners::new(tail.to_bytes())?,
            Some(Ok(runners)) => runners,
            // ONNX Runtime checks the rewritten graph again; if it disagrees, the tail as
            // cut still runs, one case at a time.
            Some(Err(Error::Runtime { message, .. })) => {
                batching = Batching::OneByOne {
                    reason: format!(
                        "ONNX Runtime refused the tail with a symbolic batch ({message})"
                    ),
                };
                Runners::new(tail.to_bytes())?
            }
            Some(Err(e)) => return Err(e),
        };
        Ok(TailSession {
            runners,
            cut: cut.to_owned(),
            output,
            positive: card.positive_index()?,
            card: card.clone(),
            budget: crate::runtime::runtime()?.budget,
            batching,
        })
    }

    /// How batches reach the tail (see [`Session::batching`](crate::Session::batching)).
    pub fn batching(&self) -> &Batching {
        &self.batching
    }

    /// The cut tensor this tail takes as input.
    pub fn cut(&self) -> &str {
        &self.cut
    }

    /// Runs the tail on a batch of the cut tensor's values (axis 0 the case, the layer's
    /// own shape otherwise) and returns one positive-class probability per case.
    ///
    /// The values must be finite ([`Error::NonFinite`]); the batch is refused with
    /// [`Error::OverBudget`] when its values alone exceed the memory budget.
    pub fn probabilities(&self, activations: &Tensor) -> Result<Vec<f32>> {
        crate::tensor::check_len(activations, &self.cut)?;
        crate::tensor::check_finite(activations, &self.cut)?;
        let cases = activations.shape.first().copied().unwrap_or(0);
        if cases == 0 || activations.shape.len() < 2 {
            return Err(Error::ShapeMismatch {
                tensor: self.cut.clone(),
                expected: "[N, …] with N ≥ 1".into(),
                got: activations.shape.clone(),
            });
        }
        self.budget.check_elements(
            format_args!("a batch of {cases} cases of `{}`", self.cut),
            &[activations.data.len() as u64],
            4,
        )?;
        if matches!(self.batching, Batching::OneByOne { .. }) && cases > 1 {
            let per_case = activations.data.len() / cases;
            let mut shape = activations.shape.clone();
            shape[0] = 1;
            let mut probabilities = Vec::with_capacity(cases);
            for values in activations.data.chunks_exact(per_case) {
                probabilities.extend(self.run(&shape, values, 1)?);
            }
            return Ok(probabilities);
        }
        self.run(&activations.shape, &activations.data, cases)
    }

    /// One ONNX Runtime run of `cases` cases.
    fn run(&self, shape: &[usize], values: &[f32], cases: usize) -> Result<Vec<f32>> {
        let mut runner = self.runners.lease()?;
        let input = TensorRef::from_array_view((shape.to_vec(), values))
            .map_err(Error::runtime("creating the input tensor"))?;
        let outputs = runner
            .run(ort::inputs![self.cut.as_str() => input])
            .map_err(Error::runtime("running a tail"))?;
        let value = outputs.get(&self.output).ok_or_else(|| Error::Runtime {
            context: "reading outputs",
            message: format!("ONNX Runtime returned no `{}`", self.output),
        })?;
        let (shape, data) = value.try_extract_tensor::<f32>().map_err(|e| {
            Error::Unsupported(format!(
                "output `{}` is not a float tensor: {e}",
                self.output
            ))
        })?;
        let scores = Tensor::new(
            shape.iter().map(|&d| d.max(0) as usize).collect(),
            data.to_vec(),
        )?;
        let (probabilities, _, _) =
            crate::session::interpret(&self.card, self.positive, &self.output, &scores, cases)?;
        Ok(probabilities)
    }
}

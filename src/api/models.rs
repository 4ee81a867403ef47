//! Models: register (validated by loading through ONNX Runtime), list, describe, predict,
//! delete. ONNX Runtime sessions are cached per (model, layers) so Predict does not rebuild
//! one per call; a cached session answers without a store read, so DeleteModel forgets a
//! model's sessions, and a session whose build overlapped a delete is never cached.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use explainme_onnx::{Model, ModelCard, Session};
use explainme_store::{ModelRecord, NewModel};
use tonic::Status;

use super::{Api, stored};
use crate::convert::common::join_error;
use crate::convert::models::{
    LayerChoice, PredictInput, Registration, description, onnx_status, prediction,
};
use crate::pb;

/// How many sessions stay alive; each holds a model's weights in ONNX Runtime, so the cache
/// is bounded and forgets the least recently built first.
const SESSION_CAPACITY: usize = 16;

/// A session is identified by the model and the layers it exposes.
type SessionKey = (String, LayerChoice);

/// Ready ONNX Runtime sessions, shared by concurrent Predict calls.
#[derive(Debug, Default)]
pub struct SessionCache {
    entries: Mutex<Entries>,
    /// Held while a session is built, so the first Predict calls arriving together wait for
    /// one build instead of each building (and holding) a copy of the model in ONNX Runtime.
    building: tokio::sync::Mutex<()>,
}

/// The sessions and the order they were built in, oldest first; and DescribeModel's answers,
/// which cost a graph parse and a trial run (a registered model never changes under its id).
#[derive(Debug, Default)]
struct Entries {
    /// How many times a model was forgotten: a session built from a store read made before
    /// the count changed may be of a model deleted since, and is not cached.
    forgotten: u64,
    sessions: HashMap<SessionKey, Arc<Session>>,
    order: VecDeque<SessionKey>,
    descriptions: HashMap<String, pb::DescribeModelResponse>,
}

impl SessionCache {
    fn get(&self, key: &SessionKey) -> Option<Arc<Session>> {
        self.lock().sessions.get(key).cloned()
    }

    /// The count to pass to [`SessionCache::insert`]: read it before the store read that
    /// proves the model exists.
    fn forgotten(&self) -> u64 {
        self.lock().forgotten
    }

    /// Caches `session` unless a model was forgotten since `forgotten` was read.
    fn insert(&self, key: SessionKey, session: Arc<Session>, forgotten: u64) {
        let mut entries = self.lock();
        if entries.forgotten != forgotten {
            return;
        }
        if entries.sessions.insert(key.clone(), session).is_none() {
            entries.order.push_back(key);
        }
        while entries.order.len() > SESSION_CAPACITY {
            if let Some(oldest) = entries.order.pop_front() {
                entries.sessions.remove(&oldest);
            }
        }
    }

    fn forget_model(&self, model_id: &str) {
        let mut entries = self.lock();
        entries.forgotten += 1;
        entries.sessions.retain(|(id, _), _| id != model_id);
        entries.order.retain(|(id, _)| id != model_id);
        entries.descriptions.remove(model_id);
    }

    fn description(&self, model_id: &str) -> Option<pb::DescribeModelResponse> {
        self.lock().descriptions.get(model_id).cloned()
    }

    /// Keeps a description; at capacity, an arbitrary one makes room (they are cheap to
    /// rebuild compared with holding every model's forever).
    fn remember_description(&self, model_id: String, description: pb::DescribeModelResponse) {
        let mut entries = self.lock();
        if entries.descriptions.len() >= SESSION_CAPACITY
            && let Some(evicted) = entries.descriptions.keys().next().cloned()
        {
            entries.descriptions.remove(&evicted);
        }
        entries.descriptions.insert(model_id, description);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        // The entries stay consistent even if a holder panicked: every update is one insert
        // or remove per collection.
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Runs CPU-heavy model work on the blocking pool.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, Status> + Send + 'static,
) -> Result<T, Status> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(join_error)?
}

pub async fn register(
    api: &Api,
    request: pb::RegisterModelRequest,
) -> Result<pb::RegisterModelResponse, Status> {
    // Decoding, validating the card against the graph and starting ONNX Runtime is the
    // "validated by loading" step: nothing is stored unless all of it succeeds.
    let (registration, session) = blocking(move || {
        let registration = Registration::try_from(request)?;
        let runs = |e: explainme_onnx::Error| match e {
            // ONNX Runtime refusing a graph that decoded is a bad model, not a server fault.
            explainme_onnx::Error::Runtime { .. } => Status::invalid_argument(format!("onnx: {e}")),
            e => onnx_status("card_json", e),
        };
        let session = Session::new(
            &registration.model,
            &registration.card,
            &registration.card.feature_layers,
        )
        .map_err(runs)?;
        // One trial run on a blank case, within the memory budget: a model that cannot run
        // (a second graph input, an output of the wrong kind, a graph that expands past the
        // budget) is refused now, not at its first Predict.
        let trial = registration.card.blank_input(1).map_err(runs)?;
        session.predict(&trial).map_err(runs)?;
        Ok((registration, session))
    })
    .await?;
    let Registration {
        name,
        onnx,
        model: _,
        card,
    } = registration;
    let card_json = card.to_json();
    let forgotten = api.sessions.forgotten();
    let (record, created) = api
        .with_writer(move |store| {
            stored(store.register_model(&NewModel {
                name: &name,
                onnx: &onnx,
                card_json: &card_json,
            }))
        })
        .await?;
    tracing::info!(model_id = %record.id, name = ?record.name, created, "model registered");
    // Built with the card's default layers: the session a Predict without `layers` uses.
    api.sessions.insert(
        (record.id.clone(), LayerChoice::CardDefaults),
        Arc::new(session),
        forgotten,
    );
    Ok(pb::RegisterModelResponse {
        model: Some(record.into()),
        created,
    })
}

pub async fn list(api: &Api) -> Result<pb::ListModelsResponse, Status> {
    let models = api.with_store(|store| stored(store.models())).await?;
    Ok(pb::ListModelsResponse {
        models: models.into_iter().map(pb::ModelInfo::from).collect(),
    })
}

pub async fn describe(
    api: &Api,
    request: pb::DescribeModelRequest,
) -> Result<pb::DescribeModelResponse, Status> {
    let pb::DescribeModelRequest { model_id } = request;
    if let Some(described) = api.sessions.description(&model_id) {
        // Still registered: a model deleted meanwhile answers NOT_FOUND.
        let id = model_id.clone();
        api.with_store(move |store| stored(store.model(&id))?.ok_or_else(|| not_found(&id)))
            .await?;
        return Ok(described);
    }
    let (record, onnx) = load(api, model_id.clone()).await?;
    let described = blocking(move || {
        let mut model = Model::from_bytes(&onnx).map_err(|e| stored_model_status(&record, e))?;
        // Tensors whose shape the graph does not declare are measured by one run.
        model
            .discover_shapes()
            .map_err(|e| stored_model_status(&record, e))?;
        Ok(description(record.into(), model.summary()))
    })
    .await?;
    api.sessions
        .remember_description(model_id, described.clone());
    Ok(described)
}

pub async fn predict(
    api: &Api,
    request: pb::PredictRequest,
) -> Result<pb::PredictResponse, Status> {
    let PredictInput {
        model_id,
        batch,
        layers,
    } = PredictInput::try_from(request)?;
    let session = session(api, model_id, layers).await?;
    blocking(move || {
        let result = session
            .predict(&batch)
            .map_err(|e| onnx_status("input", e))?;
        prediction(session.card(), session.batching(), result)
    })
    .await
}

/// A card drafted from the graph and tried on a blank case, as `explainme models card` does.
pub async fn draft_card(
    api: &Api,
    request: pb::DraftModelCardRequest,
) -> Result<pb::DraftModelCardResponse, Status> {
    let _ = api;
    blocking(move || {
        let mut model = Model::from_bytes(&request.onnx).map_err(|e| onnx_status("onnx", e))?;
        model
            .discover_shapes()
            .map_err(|e| onnx_status("onnx", e))?;
        let (draft, _, _) =
            explainme_onnx::draft_and_try(&model, 1).map_err(|e| onnx_status("onnx", e))?;
        Ok(pb::DraftModelCardResponse {
            card_json: draft.card.to_json(),
            draft_json: serde_json::to_string(&draft).unwrap_or_default(),
        })
    })
    .await
}

pub async fn delete(
    api: &Api,
    request: pb::DeleteModelRequest,
) -> Result<pb::DeleteModelResponse, Status> {
    let pb::DeleteModelRequest { model_id } = request;
    let id = model_id.clone();
    let deleted = api
        .with_writer(move |store| stored(store.delete_model(&id)))
        .await?;
    if !deleted {
        return Err(not_found(&model_id));
    }
    api.sessions.forget_model(&model_id);
    tracing::info!(model_id = ?model_id, "model deleted");
    Ok(pb::DeleteModelResponse {})
}

/// The cached session for (model, layers), built on first use. A cached session answers
/// without reading the store (DeleteModel forgets it), so a Predict takes one hop to the
/// blocking pool, not two.
async fn session(api: &Api, model_id: String, layers: LayerChoice) -> Result<Arc<Session>, Status> {
    let key = (model_id, layers);
    if let Some(session) = api.sessions.get(&key) {
        return Ok(session);
    }
    let _building = api.sessions.building.lock().await;
    // Built by another call while this one waited?
    if let Some(session) = api.sessions.get(&key) {
        return Ok(session);
    }
    let forgotten = api.sessions.forgotten();
    let (record, onnx) = load(api, key.0.clone()).await?;
    let layers = key.1.clone();
    let session = blocking(move || {
        let card =
            ModelCard::from_json(&record.card_json).map_err(|e| stored_model_status(&record, e))?;
        let model = Model::from_bytes(&onnx).map_err(|e| stored_model_status(&record, e))?;
        let chosen = match &layers {
            LayerChoice::CardDefaults => &card.feature_layers,
            LayerChoice::Only(layers) => layers,
        };
        let session = Session::new(&model, &card, chosen).map_err(|e| onnx_status("layers", e))?;
        Ok(Arc::new(session))
    })
    .await?;
    api.sessions.insert(key, Arc::clone(&session), forgotten);
    Ok(session)
}

/// A registered model's record and ONNX bytes; NOT_FOUND when unknown.
async fn load(api: &Api, model_id: String) -> Result<(ModelRecord, Vec<u8>), Status> {
    api.with_store(move |store| {
        let record = stored(store.model(&model_id))?.ok_or_else(|| not_found(&model_id))?;
        let onnx = stored(store.model_onnx(&record))?;
        Ok((record, onnx))
    })
    .await
}

fn not_found(model_id: &str) -> Status {
    Status::not_found(format!("model_id: no model {model_id:?} is registered"))
}

/// A stored model that no longer loads: it was validated at registration, so this is the
/// server's problem, not the caller's.
fn stored_model_status(record: &ModelRecord, error: explainme_onnx::Error) -> Status {
    match error {
        explainme_onnx::Error::RuntimeMissing(_) => onnx_status("model_id", error),
        _ => {
            tracing::error!(model_id = ?record.id, error = ?error.to_string(), "stored model no longer loads");
            Status::internal(format!("stored model {} does not load: {error}", record.id))
        }
    }
}

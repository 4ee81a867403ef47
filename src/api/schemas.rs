//! Feature schemas: put, get, list. Schemas are validated by explainme-cohort and stored as
//! its JSON.

use explainme_cohort::FeatureSchema;
use tonic::Status;

use super::{Api, stored};
use crate::convert::common::identifier;
use crate::convert::schemas::named_schema;
use crate::pb;

pub async fn put(
    api: &Api,
    request: pb::PutFeatureSchemaRequest,
) -> Result<pb::PutFeatureSchemaResponse, Status> {
    let pb::PutFeatureSchemaRequest { name, schema } = request;
    let name = identifier("name", name)?;
    let schema = FeatureSchema::try_from(
        schema.ok_or_else(|| Status::invalid_argument("schema: missing"))?,
    )?;
    let json = schema.to_json();
    let (record, created) = api
        .with_store(move |store| stored(store.put_feature_schema(&name, &json)))
        .await?;
    tracing::info!(name = %record.name, created, "feature schema stored");
    Ok(pb::PutFeatureSchemaResponse {
        schema: Some(named_schema(record)?),
        created,
    })
}

pub async fn get(
    api: &Api,
    request: pb::GetFeatureSchemaRequest,
) -> Result<pb::NamedFeatureSchema, Status> {
    let pb::GetFeatureSchemaRequest { name } = request;
    let record = api
        .with_store(move |store| {
            stored(store.feature_schema(&name))?.ok_or_else(|| {
                Status::not_found(format!("name: no feature schema {name:?} is stored"))
            })
        })
        .await?;
    named_schema(record)
}

pub async fn list(api: &Api) -> Result<pb::ListFeatureSchemasResponse, Status> {
    let records = api
        .with_store(|store| stored(store.feature_schemas()))
        .await?;
    Ok(pb::ListFeatureSchemasResponse {
        schemas: records
            .into_iter()
            .map(named_schema)
            .collect::<Result<_, _>>()?,
    })
}

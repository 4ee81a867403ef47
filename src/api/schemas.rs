//! Feature schemas: put, get, list. Schemas are validated by explainme-cohort and stored as
//! its JSON.

use explainme_cohort::FeatureSchema;
use tonic::Status;

use super::{Api, paging, stored};
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
        .with_writer(move |store| stored(store.put_feature_schema(&name, &json)))
        .await?;
    tracing::info!(name = ?record.name, created, "feature schema stored");
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

/// The scope of ListFeatureSchemas page tokens.
const SCHEMAS: &str = "schemas";

pub async fn list(
    api: &Api,
    request: pb::ListFeatureSchemasRequest,
) -> Result<pb::ListFeatureSchemasResponse, Status> {
    let pb::ListFeatureSchemasRequest {
        page_size,
        page_token,
    } = request;
    let limit = paging::page_size(page_size);
    let after = paging::after(SCHEMAS, page_token)?;
    let page = api
        .with_store(move |store| stored(store.feature_schemas_page(after.as_deref(), limit)))
        .await?;
    let schemas = page
        .items
        .into_iter()
        .map(named_schema)
        .collect::<Result<Vec<_>, _>>()?;
    let (schemas, cut) = paging::fit(schemas, api.max_message_bytes);
    let last = if cut {
        schemas.last().map(|s| s.name.clone())
    } else {
        page.next_after
    };
    Ok(pb::ListFeatureSchemasResponse {
        next_page_token: last.map_or_else(String::new, |key| paging::token(SCHEMAS, &key)),
        schemas,
    })
}

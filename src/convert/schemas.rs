//! Feature schemas: `pb::FeatureSchema` ↔ `explainme_cohort::FeatureSchema`.

use explainme_cohort::{Feature, FeatureKind, FeatureSchema, Role};
use tonic::Status;

use crate::pb;

impl TryFrom<pb::FeatureSchema> for FeatureSchema {
    type Error = Status;

    fn try_from(value: pb::FeatureSchema) -> Result<Self, Status> {
        let pb::FeatureSchema { features } = value;
        let features = features
            .into_iter()
            .enumerate()
            .map(|(i, feature)| feature_from_pb(i, feature))
            .collect::<Result<Vec<_>, _>>()?;
        let schema = FeatureSchema { features };
        schema
            .validate()
            .map_err(|e| Status::invalid_argument(format!("schema: {e}")))?;
        Ok(schema)
    }
}

fn feature_from_pb(index: usize, value: pb::Feature) -> Result<Feature, Status> {
    let pb::Feature {
        name,
        kind,
        role,
        description,
    } = value;
    let kind = match kind {
        Some(pb::feature::Kind::Categorical(pb::CategoricalFeature { states })) => {
            FeatureKind::Categorical { states }
        }
        Some(pb::feature::Kind::Ordinal(pb::OrdinalFeature { states })) => {
            FeatureKind::Ordinal { states }
        }
        Some(pb::feature::Kind::Numeric(pb::NumericFeature { cut_points })) => {
            FeatureKind::Numeric { cut_points }
        }
        None => {
            return Err(Status::invalid_argument(format!(
                "schema.features[{index}] ({name}): kind is missing (categorical, ordinal or numeric)"
            )));
        }
    };
    let role = match pb::FeatureRole::try_from(role) {
        Ok(pb::FeatureRole::Unspecified | pb::FeatureRole::Feature) => Role::Feature,
        Ok(pb::FeatureRole::Truth) => Role::Truth,
        Err(_) => {
            return Err(Status::invalid_argument(format!(
                "schema.features[{index}].role: unknown value {role}"
            )));
        }
    };
    Ok(Feature {
        name,
        kind,
        role,
        description: (!description.is_empty()).then_some(description),
    })
}

impl From<FeatureSchema> for pb::FeatureSchema {
    fn from(value: FeatureSchema) -> Self {
        let FeatureSchema { features } = value;
        pb::FeatureSchema {
            features: features.into_iter().map(pb::Feature::from).collect(),
        }
    }
}

impl From<Feature> for pb::Feature {
    fn from(value: Feature) -> Self {
        let Feature {
            name,
            kind,
            role,
            description,
        } = value;
        let kind = match kind {
            FeatureKind::Categorical { states } => {
                pb::feature::Kind::Categorical(pb::CategoricalFeature { states })
            }
            FeatureKind::Ordinal { states } => {
                pb::feature::Kind::Ordinal(pb::OrdinalFeature { states })
            }
            FeatureKind::Numeric { cut_points } => {
                pb::feature::Kind::Numeric(pb::NumericFeature { cut_points })
            }
        };
        let role = match role {
            Role::Feature => pb::FeatureRole::Feature,
            Role::Truth => pb::FeatureRole::Truth,
        };
        pb::Feature {
            name,
            kind: Some(kind),
            role: role.into(),
            description: description.unwrap_or_default(),
        }
    }
}

/// A stored schema record back to the wire; the JSON was validated when it was stored.
pub fn named_schema(
    record: explainme_store::SchemaRecord,
) -> Result<pb::NamedFeatureSchema, Status> {
    let explainme_store::SchemaRecord {
        name,
        schema_json,
        updated_at,
    } = record;
    let schema = FeatureSchema::from_json(&schema_json)
        .map_err(|e| Status::internal(format!("stored schema {name} is unreadable: {e}")))?;
    Ok(pb::NamedFeatureSchema {
        name,
        schema: Some(schema.into()),
        updated_at,
    })
}

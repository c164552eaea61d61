//! Parameters many operations share, as `IntoParams` for `params(...)`: read-your-writes,
//! optimistic concurrency and idempotency. They are read by extractors and helpers rather than
//! by a typed query struct, so they are described here by hand.

use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::{KnownFormat, ObjectBuilder, Required, SchemaFormat, Type};
use utoipa::IntoParams;

use crate::extract::{MinPosition, MIN_POSITION_HEADER};

fn position_schema() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
        .minimum(Some(0))
}

fn string_schema() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String)
}

fn optional(name: &str, place: ParameterIn, schema: ObjectBuilder, description: &str) -> Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(place)
        .required(Required::False)
        .schema(Some(schema))
        .description(Some(description))
        .build()
}

/// Queries wait until the read models include this log position (`X-Log-Position` of a command).
impl IntoParams for MinPosition {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        let description = "Wait (up to 2 s) until the read models include this log position, the X-Log-Position \
                           of an earlier command; 503 if they do not in time";
        vec![
            optional(MIN_POSITION_HEADER, ParameterIn::Header, position_schema(), description),
            optional("min_position", ParameterIn::Query, position_schema(), "The same as the X-Min-Position header"),
        ]
    }
}

/// `If-Match: "<version>"`: apply only to that version (the `ETag` of a read), else `412`.
pub struct IfMatch;

impl IntoParams for IfMatch {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![optional(
            "If-Match",
            ParameterIn::Header,
            string_schema(),
            "The ETag of the version this change is based on; a stale one answers 412",
        )]
    }
}

/// `Idempotency-Key`: a retry with the same key and body gets the first answer.
pub struct IdempotencyKey;

impl IntoParams for IdempotencyKey {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![optional(
            "Idempotency-Key",
            ParameterIn::Header,
            string_schema().min_length(Some(1)).max_length(Some(255)),
            "1 to 255 characters, unique per intended command: a retry with the same key and body gets the first \
             answer (even a 409); the same key with another body is 422 idempotency-key-reused",
        )]
    }
}

//! Which callvault the command works on: a deployed stack (its CloudFormation outputs name
//! the table, bucket, function URLs and secrets), the local stack of `make dev` (`--stack
//! local`), or just a table and bucket. There is no default: a command given none of them
//! says how to name one.

use std::collections::BTreeMap;

use anyhow::Context;
use aws_config::SdkConfig;
use callvault_catalog::Webhook;
use callvault_store::retention::Retention;
use callvault_store::schema::{DEFAULT_BUCKET, DEFAULT_TABLE};
use serde::Serialize;

use crate::args::Cli;
use crate::error::CliError;

/// The name that selects the local stack.
pub const LOCAL: &str = "local";
/// The local stack's name in resource names (its secrets are `callvault/<name>`).
const LOCAL_STACK_NAME: &str = "callvault";

/// How to name the stack, said when a command is given none.
const NAME_THE_STACK: &str =
    "pass --stack <name> (--stack local for make dev's) or set CALLVAULT_STACK";

/// A callvault deployment, as far as the command knows it.
#[derive(Debug, Clone, Serialize)]
pub struct Target {
    /// The stack's name (`local` for `make dev`'s), if the command was given one.
    pub stack: Option<String>,
    /// The DynamoDB table.
    pub table: String,
    /// The archive bucket.
    pub bucket: String,
    /// The emulator's endpoint, for the local stack.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// Each webhook's URL, by function name.
    pub webhook_urls: BTreeMap<String, String>,
    /// The query API's URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query_api_url: Option<String>,
    /// Each webhook secret's id (ARN deployed, name locally), by secret name (`voiceinfra`,
    /// `hatif`, `voki`, `postcall`).
    pub secrets: BTreeMap<String, String>,
    /// Every output of the deployed stack.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub outputs: BTreeMap<String, String>,
    /// How long the stack's functions keep what they write (its parameters), applied to what
    /// the CLI writes too.
    #[serde(skip)]
    pub retention: Option<Retention>,
}

fn port(var: &str, default: u16) -> u16 {
    std::env::var(var)
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(default)
}

impl Target {
    /// `make dev`'s stack: the emulator on `MOTO_PORT` (4566), the functions on
    /// `LAMBDA_PORT` (9000), the table, bucket and secrets `make dev` provisions.
    pub fn local() -> Self {
        let functions = format!("http://127.0.0.1:{}/lambda-url", port("LAMBDA_PORT", 9000));
        Self {
            stack: Some(LOCAL.into()),
            table: DEFAULT_TABLE.into(),
            bucket: DEFAULT_BUCKET.into(),
            endpoint: Some(format!("http://127.0.0.1:{}", port("MOTO_PORT", 4566))),
            webhook_urls: Webhook::ALL
                .into_iter()
                .map(|w| (w.name().to_owned(), format!("{functions}/{}/", w.name())))
                .collect(),
            query_api_url: Some(format!("{functions}/query-api/")),
            secrets: Webhook::ALL
                .into_iter()
                .map(|w| {
                    (
                        w.secret_name().to_owned(),
                        format!("{LOCAL_STACK_NAME}/{}", w.secret_name()),
                    )
                })
                .collect(),
            outputs: BTreeMap::new(),
            retention: None,
        }
    }

    /// A deployment known only by its table and bucket.
    fn bare(table: &str, bucket: &str) -> Self {
        Self {
            stack: None,
            table: table.into(),
            bucket: bucket.into(),
            endpoint: None,
            webhook_urls: BTreeMap::new(),
            query_api_url: None,
            secrets: BTreeMap::new(),
            outputs: BTreeMap::new(),
            retention: None,
        }
    }

    /// A deployed stack, from its CloudFormation outputs (the template's output names).
    pub fn from_outputs(stack: &str, outputs: BTreeMap<String, String>) -> anyhow::Result<Self> {
        let output = |name: &str| {
            outputs.get(name).cloned().with_context(|| {
                format!("stack {stack} has no output {name}: is it a callvault stack?")
            })
        };
        Ok(Self {
            stack: Some(stack.to_owned()),
            table: output("TableName")?,
            bucket: output("BucketName")?,
            endpoint: None,
            webhook_urls: Webhook::ALL
                .into_iter()
                .filter_map(|w| Some((w.name().to_owned(), outputs.get(w.url_output())?.clone())))
                .collect(),
            query_api_url: outputs.get("QueryApiUrl").cloned(),
            secrets: Webhook::ALL
                .into_iter()
                .filter_map(|w| {
                    Some((
                        w.secret_name().to_owned(),
                        outputs.get(w.secret_output())?.clone(),
                    ))
                })
                .collect(),
            outputs,
            retention: None,
        })
    }

    /// The stack's name in its resource names (`make dev`'s is `callvault`).
    fn resource_prefix(&self) -> Option<&str> {
        match self.stack.as_deref()? {
            LOCAL => Some(LOCAL_STACK_NAME),
            stack => Some(stack),
        }
    }

    /// The log group of `function`, as the template names it: `/aws/lambda/<stack>/<function>`.
    pub fn log_group(&self, function: &str) -> Option<String> {
        Some(format!(
            "/aws/lambda/{}/{function}",
            self.resource_prefix()?
        ))
    }

    /// The namespace of the functions' metrics: `callvault/<stack>` as the template sets it,
    /// `make dev`'s the functions' default.
    pub fn metrics_namespace(&self) -> Option<String> {
        match self.stack.as_deref()? {
            LOCAL => Some(callvault_runtime::metrics::LOCAL_NAMESPACE.to_owned()),
            stack => Some(format!("callvault/{stack}")),
        }
    }

    /// The URL of `webhook`'s function.
    pub fn webhook_url(&self, webhook: Webhook) -> Result<&str, CliError> {
        self.webhook_urls
            .get(webhook.name())
            .map(String::as_str)
            .ok_or_else(|| self.unnamed(format!("no URL for {webhook}")))
    }

    /// The id of `webhook`'s secret.
    pub fn secret_id(&self, webhook: Webhook) -> Result<&str, CliError> {
        self.secrets
            .get(webhook.secret_name())
            .map(String::as_str)
            .ok_or_else(|| self.unnamed(format!("no secret for {}", webhook.secret_name())))
    }

    /// `what` is missing: without a stack, the stack must be named; a stack without it has
    /// that provider left out.
    fn unnamed(&self, what: String) -> CliError {
        match &self.stack {
            None => CliError::Usage(format!("{what} without a stack: {NAME_THE_STACK}")),
            Some(stack) => CliError::NotFound(format!(
                "{what} in stack {stack}: is the provider enabled (EnabledProviders)?"
            )),
        }
    }
}

/// SDK configuration from the environment and the global flags (the local stack: its
/// emulator, with dummy credentials).
pub async fn sdk_config(cli: &Cli) -> SdkConfig {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    if let Some(profile) = &cli.profile {
        loader = loader.profile_name(profile);
    }
    let local = cli.stack.as_deref() == Some(LOCAL);
    if let Some(region) = cli.region.clone().or(local.then(|| "us-east-1".to_owned())) {
        loader = loader.region(aws_config::Region::new(region));
    }
    let endpoint = cli
        .endpoint_url
        .clone()
        .or_else(|| local.then(|| Target::local().endpoint).flatten());
    if let Some(endpoint) = endpoint {
        loader = loader.endpoint_url(endpoint);
    }
    if local && std::env::var_os("AWS_ACCESS_KEY_ID").is_none() {
        // The emulator takes any credentials.
        loader = loader.credentials_provider(aws_sdk_secretsmanager::config::Credentials::new(
            "test",
            "test",
            None,
            None,
            "callvault-local",
        ));
    }
    loader.load().await
}

/// Where no stack was given: both `--table` and `--bucket`, or how to name the stack.
pub fn without_stack(cli: &Cli) -> Result<Target, CliError> {
    match (&cli.table, &cli.bucket) {
        (Some(table), Some(bucket)) => Ok(Target::bare(table, bucket)),
        (Some(_), None) => Err(CliError::Usage(format!(
            "--table without --bucket: give both, or {NAME_THE_STACK}"
        ))),
        (None, Some(_)) => Err(CliError::Usage(format!(
            "--bucket without --table: give both, or {NAME_THE_STACK}"
        ))),
        (None, None) => Err(CliError::Usage(format!(
            "no stack named: {NAME_THE_STACK} (or give both --table and --bucket)"
        ))),
    }
}

/// The outputs of the deployed stack `name`, from CloudFormation in the region of `sdk`.
/// A deployed stack's outputs, and its parameters.
type Described = (BTreeMap<String, String>, BTreeMap<String, String>);

async fn outputs(name: &str, sdk: &SdkConfig) -> Result<Described, CliError> {
    let Some(region) = sdk.region() else {
        return Err(CliError::Usage(format!(
            "no AWS region to find stack {name} in: pass --region, or set AWS_REGION (or a \
             profile's region)"
        )));
    };
    let not_found = || {
        CliError::NotFound(format!(
            "no stack named {name} in region {region}: if it is in another, pass --region"
        ))
    };
    let described = match aws_sdk_cloudformation::Client::new(sdk)
        .describe_stacks()
        .stack_name(name)
        .send()
        .await
    {
        Ok(described) => described,
        // CloudFormation's answer for a stack it does not know.
        Err(e)
            if e.as_service_error().is_some_and(|s| {
                aws_sdk_cloudformation::error::ProvideErrorMetadata::message(s)
                    .is_some_and(|m| m.contains("does not exist"))
            }) =>
        {
            return Err(not_found())
        }
        Err(e) => return Err(CliError::aws(format!("reading stack {name}'s outputs"), e)),
    };
    let stack = described
        .stacks
        .unwrap_or_default()
        .into_iter()
        .next()
        .ok_or_else(not_found)?;
    let parameters = stack
        .parameters
        .unwrap_or_default()
        .into_iter()
        .filter_map(|p| Some((p.parameter_key?, p.parameter_value?)))
        .collect();
    Ok((
        stack
            .outputs
            .unwrap_or_default()
            .into_iter()
            .filter_map(|o| Some((o.output_key?, o.output_value?)))
            .collect(),
        parameters,
    ))
}

/// The template's retention parameters, as the functions apply them.
const RECORD_RETENTION_PARAMETER: &str = "RecordRetentionDays";
const KEPT_RETENTION_PARAMETER: &str = "KeptRetentionDays";

/// The retention a deployed stack's functions write with (from its parameters), so what the
/// CLI writes (a replayed delivery, a record re-scoped) expires as theirs does; `None` for a
/// stack without the parameters.
fn retention(parameters: &BTreeMap<String, String>) -> Option<Retention> {
    let days = |name| parameters.get(name)?.parse::<u32>().ok();
    Some(Retention::days(
        days(RECORD_RETENTION_PARAMETER)?,
        days(KEPT_RETENTION_PARAMETER)?,
    ))
}

/// Resolves the target of `cli`: `--stack` (or `CALLVAULT_STACK`), then `--table`/`--bucket`
/// (or `CALLVAULT_TABLE`/`CALLVAULT_BUCKET`) over whatever the stack named; without a stack,
/// both of those.
pub async fn resolve(cli: &Cli, sdk: &SdkConfig) -> anyhow::Result<Target> {
    let mut target = match cli.stack.as_deref() {
        Some(LOCAL) => Target::local(),
        Some(name) => {
            let (outputs, parameters) = outputs(name, sdk).await?;
            let mut target = Target::from_outputs(name, outputs)?;
            target.retention = retention(&parameters);
            target
        }
        None => without_stack(cli)?,
    };
    if let Some(table) = &cli.table {
        target.table = table.clone();
    }
    if let Some(bucket) = &cli.bucket {
        target.bucket = bucket.clone();
    }
    Ok(target)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stacks_retention_parameters_apply_to_what_the_cli_writes() {
        let parameters = |record: &str, kept: &str| -> BTreeMap<String, String> {
            [
                (RECORD_RETENTION_PARAMETER, record),
                (KEPT_RETENTION_PARAMETER, kept),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect()
        };
        assert_eq!(
            retention(&parameters("365", "30")),
            Some(Retention::days(365, 30))
        );
        assert_eq!(retention(&parameters("0", "0")), Some(Retention::FOREVER));
        assert_eq!(retention(&BTreeMap::new()), None);
    }

    #[test]
    fn outputs_name_everything_the_cli_needs() {
        let mut outputs: BTreeMap<String, String> = [
            ("TableName", "cv-Table-1"),
            ("BucketName", "cv-archivebucket-2"),
            ("QueryApiUrl", "https://q.lambda-url.eu-west-1.on.aws/"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        for w in Webhook::ALL {
            outputs.insert(
                w.url_output().into(),
                format!("https://{}.example/", w.name()),
            );
            outputs.insert(
                w.secret_output().into(),
                format!("arn:secret:{}", w.secret_name()),
            );
        }
        let target = Target::from_outputs("cv", outputs).expect("a callvault stack");
        assert_eq!(
            (target.table.as_str(), target.bucket.as_str()),
            ("cv-Table-1", "cv-archivebucket-2")
        );
        assert_eq!(
            target.webhook_url(Webhook::Voki).ok(),
            Some("https://voki.example/")
        );
        assert_eq!(
            target.secret_id(Webhook::HatifWhatsApp).ok(),
            Some("arn:secret:hatif")
        );
        let err = Target::from_outputs("other", BTreeMap::new()).expect_err("not ours");
        assert_eq!(
            err.to_string(),
            "stack other has no output TableName: is it a callvault stack?"
        );
    }

    #[test]
    fn the_local_stack_is_make_devs() {
        let local = Target::local();
        assert_eq!(
            local.secret_id(Webhook::PostCall).ok(),
            Some("callvault/postcall")
        );
        assert!(local
            .webhook_url(Webhook::HatifCall)
            .is_ok_and(|u| u.ends_with("/lambda-url/hatif-call/")));
        let bare = Target::bare("t", "b");
        let err = bare
            .webhook_url(Webhook::Voki)
            .expect_err("no stack, no URL");
        assert!(
            err.to_string().contains("pass --stack <name>"),
            "says how to name the stack: {err}"
        );
    }
}

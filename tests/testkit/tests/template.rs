//! The infrastructure template per provider selection: what a deployment creates, that
//! everything it refers to exists, the alarms and dashboard of the operations contract, the
//! functions' logging and metrics settings, and the query API's consumer policy.

use std::collections::BTreeSet;

use callvault_catalog::Webhook;
use callvault_records::Provider;
use callvault_testkit::template::{Deployment, Template, TemplateError, ALARM, SAM_FUNCTION};
use serde_json::{json, Value};

/// What the template declares for one webhook of the catalog, found from its function (the
/// SAM function building the webhook's binary).
#[derive(Debug)]
struct WebhookResources {
    function: String,
    role: String,
    log_group: String,
    secret: String,
}

impl WebhookResources {
    fn of(template: &Template, webhook: Webhook) -> Self {
        let function = template
            .resources_of_type(SAM_FUNCTION)
            .into_iter()
            .find(|id| {
                template.resource(id).expect("declared")["Metadata"]["BuildProperties"]["Binary"]
                    == webhook.name()
            })
            .unwrap_or_else(|| panic!("no function builds {webhook}"));
        let props = template.resource(&function).expect("declared")["Properties"].clone();
        let name = |value: &Value| value.as_str().expect("a logical id").to_owned();
        Self {
            role: name(&props["Role"]["Fn::GetAtt"][0]),
            log_group: name(&props["LoggingConfig"]["LogGroup"]["Ref"]),
            secret: name(
                &props["Environment"]["Variables"][format!("{}_ARN", webhook.secret_var())]["Ref"],
            ),
            function,
        }
    }

    /// The resources it makes, SAM's Function URL included.
    fn ids(&self) -> Vec<String> {
        vec![
            self.function.clone(),
            format!("{}Url", self.function),
            self.role.clone(),
            self.log_group.clone(),
            self.secret.clone(),
        ]
    }

    /// The prefix of its provider's logical ids (`Hatif`, `VoiceInfra`, ...): its secret's.
    fn provider_prefix(&self) -> &str {
        self.secret
            .strip_suffix("Secret")
            .expect("a secret's logical id ends with Secret")
    }
}

/// What a provider's being enabled must create: every resource of its webhooks and its
/// authentication-failure alarm; and its outputs.
fn provider_resources(template: &Template, provider: Provider) -> (Vec<String>, Vec<String>) {
    let mut ids = Vec::new();
    let mut outputs = Vec::new();
    for webhook in Webhook::ALL
        .into_iter()
        .filter(|w| w.provider() == provider)
    {
        let resources = WebhookResources::of(template, webhook);
        ids.extend(resources.ids());
        ids.push(format!("{}AuthFailuresAlarm", resources.provider_prefix()));
        outputs.extend([webhook.url_output(), webhook.secret_output()].map(str::to_owned));
    }
    ids.sort();
    ids.dedup();
    outputs.sort();
    outputs.dedup();
    (ids, outputs)
}

/// The logical-id prefix of a provider.
fn prefix(template: &Template, provider: Provider) -> String {
    let webhook = Webhook::ALL
        .into_iter()
        .find(|w| w.provider() == provider)
        .expect("every provider has a webhook");
    WebhookResources::of(template, webhook)
        .provider_prefix()
        .to_owned()
}

/// Every provider's `<Provider>SilenceHours` parameter set to `hours`.
fn silence_hours(template: &Template, hours: &'static str) -> Vec<(String, &'static str)> {
    Provider::ALL
        .into_iter()
        .map(|p| (format!("{}SilenceHours", prefix(template, p)), hours))
        .collect()
}

/// The alarms of the operations contract and their runbook anchors in docs/operations.md.
const ALARMS: [(&str, &str); 18] = [
    ("HatifSilenceAlarm", "provider-silent"),
    ("VoiceInfraSilenceAlarm", "provider-silent"),
    ("VokiSilenceAlarm", "provider-silent"),
    ("PostCallSilenceAlarm", "provider-silent"),
    ("HatifAuthFailuresAlarm", "authentication-failures"),
    ("VoiceInfraAuthFailuresAlarm", "authentication-failures"),
    ("VokiAuthFailuresAlarm", "authentication-failures"),
    ("PostCallAuthFailuresAlarm", "authentication-failures"),
    ("KeptDeliveriesAlarm", "deliveries-kept"),
    ("SpooledDeliveriesAlarm", "deliveries-spooled"),
    ("StorageFailuresAlarm", "storage-failures"),
    ("SpoolAgeAlarm", "spool-not-draining"),
    ("SpoolDeadLetterAlarm", "spool-dead-letters"),
    ("CopierFailureQueueAlarm", "copier-dead-letters"),
    ("FailedFilesAlarm", "files-failed"),
    ("CopierIteratorAgeAlarm", "copier-behind"),
    ("FunctionErrorsAlarm", "function-errors"),
    ("FunctionThrottlesAlarm", "function-throttles"),
];

fn template() -> Template {
    Template::load().expect("infra/template.yaml loads")
}

/// Every non-empty selection of providers, as an `EnabledProviders` value.
fn selections() -> Vec<String> {
    (1..1u32 << Provider::ALL.len())
        .map(|bits| {
            let chosen: Vec<&str> = Provider::ALL
                .iter()
                .enumerate()
                .filter(|(i, _)| bits & (1 << i) != 0)
                .map(|(_, p)| p.as_str())
                .collect();
            chosen.join(",")
        })
        .collect()
}

#[test]
fn two_providers_create_only_their_own_resources_and_outputs() {
    let template = template();
    let stack = template
        .deploy(&[("EnabledProviders", "hatif,voki")])
        .expect("deploys");
    for provider in Provider::ALL {
        let enabled = [Provider::Hatif, Provider::Voki].contains(&provider);
        let (ids, outputs) = provider_resources(&template, provider);
        for id in ids {
            assert_eq!(stack.creates(&id), enabled, "{id}");
        }
        for output in outputs {
            assert_eq!(stack.outputs().contains(&output), enabled, "{output}");
        }
        if !enabled {
            let prefix = prefix(&template, provider);
            let left: Vec<&String> = stack
                .resources()
                .iter()
                .chain(stack.outputs())
                .filter(|id| id.starts_with(&prefix))
                .collect();
            assert!(left.is_empty(), "{provider} left out, yet {left:?}");
        }
    }
    // A space after a comma changes nothing (CloudFormation trims each member).
    let spaced = template
        .deploy(&[("EnabledProviders", "hatif, voki")])
        .expect("deploys");
    assert_eq!(spaced.resources(), stack.resources());
}

#[test]
fn an_unknown_or_missing_provider_is_refused() {
    let template = template();
    for value in ["hatif,voicinfra", ""] {
        match template.deploy(&[("EnabledProviders", value)]) {
            Err(TemplateError::Rule { rule, .. }) => assert_eq!(rule, "KnownProviders"),
            other => panic!("EnabledProviders={value:?}: {other:?}"),
        }
    }
}

#[test]
fn with_the_defaults_everything_is_created_but_optional_alarms_and_subscription() {
    let template = template();
    let stack = template.deploy(&[]).expect("deploys");
    for provider in Provider::ALL {
        let (ids, outputs) = provider_resources(&template, provider);
        for id in ids {
            assert!(stack.creates(&id), "{id}");
        }
        for output in outputs {
            assert!(stack.outputs().contains(&output), "{output}");
        }
    }
    let optional: BTreeSet<String> = [
        "HatifSilenceAlarm",
        "VoiceInfraSilenceAlarm",
        "VokiSilenceAlarm",
        "PostCallSilenceAlarm",
        "AlarmEmailSubscription",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    let missing: Vec<String> = template
        .declared_resources()
        .into_iter()
        .filter(|id| !stack.creates(id) && !optional.contains(id))
        .collect();
    assert!(missing.is_empty(), "not created by default: {missing:?}");
    assert_eq!(stack.outputs(), &template.declared_outputs());
    for output in [
        "QueryApiConsumerPolicyArn",
        "AlarmTopicArn",
        "DashboardName",
    ] {
        assert!(stack.outputs().contains(output), "{output}");
    }
}

fn assert_references_exist(stack: &Deployment<'_>, what: &str) {
    let parameters = stack.parameter_names();
    let dangling: Vec<_> = stack
        .references()
        .expect("references")
        .into_iter()
        .filter(|r| {
            !r.target.starts_with("AWS::")
                && !parameters.contains(&r.target)
                && !stack.creates(&r.target)
        })
        .collect();
    assert!(dangling.is_empty(), "{what}: {dangling:#?}");
}

#[test]
fn every_reference_names_a_created_resource_or_a_parameter() {
    let template = template();
    let hours = silence_hours(&template, "6");
    for enabled in selections() {
        let mut given: Vec<(&str, &str)> = vec![
            ("EnabledProviders", &enabled),
            ("AlarmEmail", "ops@example.com"),
            ("ReservedConcurrency", "5"),
        ];
        given.extend(hours.iter().map(|(n, v)| (n.as_str(), *v)));
        let stack = template.deploy(&given).expect("deploys");
        assert_references_exist(&stack, &enabled);
        assert_references_exist(
            &template
                .deploy(&[("EnabledProviders", &enabled)])
                .expect("deploys"),
            &enabled,
        );
    }
}

#[test]
fn a_reference_to_a_left_out_resource_is_found() {
    // The check above would catch a shared resource naming a disabled provider's function
    // outside an Fn::If.
    let text = std::fs::read_to_string(callvault_testkit::repo_root().join("infra/template.yaml"))
        .expect("template");
    let broken = text.replacen(
        "      Description: Calls the callvault query API",
        "      Path: !Sub \"/${VokiFunction}/\"\n      Description: Calls the callvault query API",
        1,
    );
    assert_ne!(broken, text, "the mutation no longer applies");
    let template = Template::parse(&broken).expect("parses");
    let stack = template
        .deploy(&[("EnabledProviders", "hatif")])
        .expect("deploys");
    let references = stack.references().expect("references");
    assert!(
        references
            .iter()
            .any(|r| r.from == "Resources.QueryApiConsumerPolicy" && r.target == "VokiFunction"),
        "{references:#?}"
    );
    assert!(!stack.creates("VokiFunction"));
}

#[test]
fn silence_alarms_exist_only_for_enabled_providers_with_hours() {
    let template = template();
    let silence = |stack: &Deployment<'_>| -> BTreeSet<String> {
        stack
            .resources()
            .iter()
            .filter(|id| id.ends_with("SilenceAlarm"))
            .cloned()
            .collect()
    };
    assert!(silence(&template.deploy(&[]).expect("deploys")).is_empty());
    let stack = template
        .deploy(&[("VokiSilenceHours", "6")])
        .expect("deploys");
    assert_eq!(
        silence(&stack),
        BTreeSet::from(["VokiSilenceAlarm".to_owned()])
    );
    let alarm = stack
        .resource("VokiSilenceAlarm")
        .expect("resolves")
        .expect("created");
    let props = &alarm["Properties"];
    assert_eq!(
        props["EvaluationPeriods"],
        json!({"Ref": "VokiSilenceHours"})
    );
    assert_eq!(props["Period"], 3600);
    assert_eq!(props["TreatMissingData"], "breaching");
    assert_eq!(props["MetricName"], "Deliveries");
    assert_eq!(
        props["Dimensions"],
        json!([{"Name": "Provider", "Value": "voki"}, {"Name": "Outcome", "Value": "stored"}])
    );
    assert!(stack
        .render(&props["AlarmDescription"])
        .expect("renders")
        .contains("for 6 hours"));
    let disabled = template
        .deploy(&[("EnabledProviders", "hatif"), ("VokiSilenceHours", "6")])
        .expect("deploys");
    assert!(silence(&disabled).is_empty());
    for hours in ["169", "-1"] {
        assert!(matches!(
            template.deploy(&[("HatifSilenceHours", hours)]),
            Err(TemplateError::RefusedParameter { .. })
        ));
    }
}

#[test]
fn alarms_are_the_contracts_with_runbooks_and_the_alarm_topic() {
    let template = template();
    let declared = template.resources_of_type(ALARM);
    let contract: BTreeSet<String> = ALARMS.iter().map(|(id, _)| (*id).to_owned()).collect();
    assert_eq!(declared, contract);
    assert!(!template
        .document()
        .to_string()
        .contains("SignatureFailureThreshold"));
    assert!(template
        .resources_of_type("AWS::Logs::MetricFilter")
        .is_empty());

    let hours = silence_hours(&template, "12");
    let given: Vec<(&str, &str)> = hours.iter().map(|(n, v)| (n.as_str(), *v)).collect();
    let stack = template.deploy(&given).expect("deploys");
    let topic = json!([{"Ref": "AlarmTopic"}]);
    for (id, anchor) in ALARMS {
        let alarm = stack
            .resource(id)
            .expect("resolves")
            .unwrap_or_else(|| panic!("{id} not created"));
        let props = &alarm["Properties"];
        let description = stack.render(&props["AlarmDescription"]).expect("renders");
        assert!(
            description.ends_with(&format!("Runbook: docs/operations.md#{anchor}")),
            "{id}: {description}"
        );
        assert!(description.len() <= 1024, "{id}: description too long");
        assert_eq!(props["AlarmActions"], topic, "{id}");
        assert_eq!(props["OKActions"], topic, "{id}");
    }
}

/// The ids of an alarm's `Metrics` as deployed.
fn metric_ids(stack: &Deployment<'_>, alarm: &str) -> Vec<String> {
    let alarm = stack.resource(alarm).expect("resolves").expect("created");
    alarm["Properties"]["Metrics"]
        .as_array()
        .expect("Metrics")
        .iter()
        .map(|m| m["Id"].as_str().expect("Id").to_owned())
        .collect()
}

#[test]
fn summed_alarms_leave_out_disabled_providers() {
    let template = template();
    let stack = template
        .deploy(&[("EnabledProviders", "hatif,voki")])
        .expect("deploys");
    for alarm in [
        "KeptDeliveriesAlarm",
        "SpooledDeliveriesAlarm",
        "StorageFailuresAlarm",
    ] {
        assert_eq!(
            metric_ids(&stack, alarm),
            ["total", "hatif", "voki"],
            "{alarm}"
        );
    }
    for alarm in ["FunctionErrorsAlarm", "FunctionThrottlesAlarm"] {
        assert_eq!(
            metric_ids(&stack, alarm),
            [
                "total",
                "hatif_call",
                "hatif_whatsapp",
                "voki",
                "query_api",
                "recording_copier",
                "spool_replayer"
            ],
            "{alarm}"
        );
    }
    let everything = template.deploy(&[]).expect("deploys");
    assert_eq!(metric_ids(&everything, "FunctionErrorsAlarm").len(), 1 + 8);
    assert_eq!(
        metric_ids(&everything, "KeptDeliveriesAlarm"),
        ["total", "hatif", "voiceinfra", "voki", "postcall"]
    );
    // The authentication-failure share: unauthorized deliveries over requests, both hourly.
    let auth = everything
        .resource("VokiAuthFailuresAlarm")
        .expect("resolves")
        .expect("created");
    let expression = everything
        .render(&auth["Properties"]["Metrics"][0]["Expression"])
        .expect("renders");
    assert_eq!(
        expression,
        "IF(unauthorized >= 2 AND 100 * unauthorized / requests >= 20, 1, 0)"
    );
}

/// The `Provider` values and function placeholders the dashboard of `stack` shows.
fn dashboard_providers(stack: &Deployment<'_>) -> (BTreeSet<String>, BTreeSet<String>) {
    let body = stack.dashboard_body("Dashboard").expect("dashboard body");
    let mut providers = BTreeSet::new();
    let mut functions = BTreeSet::new();
    for widget in body["widgets"].as_array().expect("widgets") {
        for metric in widget["properties"]["metrics"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let texts: Vec<&str> = metric
                .as_array()
                .expect("metric")
                .iter()
                .filter_map(Value::as_str)
                .collect();
            for pair in texts.windows(2) {
                match pair {
                    ["Provider", p] => {
                        providers.insert((*p).to_owned());
                    }
                    ["FunctionName", f] => {
                        functions.insert((*f).to_owned());
                    }
                    _ => {}
                }
            }
            if let Some(expression) = metric[0]["expression"].as_str() {
                if let Some((_, rest)) = expression.split_once("Provider=\"") {
                    providers.insert(rest.split('"').next().unwrap_or_default().to_owned());
                }
            }
        }
    }
    (providers, functions)
}

#[test]
fn the_dashboard_shows_the_enabled_providers_only() {
    let template = template();
    // Its function widgets show every function the stack deploys, by name.
    let deployed = |stack: &Deployment<'_>| -> BTreeSet<String> {
        template
            .resources_of_type(SAM_FUNCTION)
            .into_iter()
            .filter(|id| stack.creates(id))
            .map(|id| format!("${{{id}}}"))
            .collect()
    };
    let stack = template
        .deploy(&[("EnabledProviders", "hatif,voki")])
        .expect("deploys");
    let (providers, functions) = dashboard_providers(&stack);
    assert_eq!(providers, BTreeSet::from(["hatif".into(), "voki".into()]));
    assert_eq!(functions, deployed(&stack));
    assert!(!functions.contains("${PostCallFunction}"));

    let everything = template.deploy(&[]).expect("deploys");
    let (providers, functions) = dashboard_providers(&everything);
    assert_eq!(
        providers,
        Provider::ALL
            .iter()
            .map(|p| p.as_str().to_owned())
            .collect()
    );
    assert_eq!(functions, deployed(&everything));
    assert_eq!(functions.len(), Webhook::ALL.len() + 3);
    let dashboard = template.resource("Dashboard").expect("Dashboard");
    assert_eq!(
        dashboard["Properties"]["DashboardName"],
        json!({"Ref": "AWS::StackName"})
    );
}

#[test]
fn alarms_and_dashboard_read_the_functions_metrics() {
    let template = template();
    assert_eq!(
        template.metrics_namespace(),
        Some("callvault/${AWS::StackName}")
    );
    let metric = |name: &str, dimensions: &[&str]| {
        (
            name.to_owned(),
            dimensions
                .iter()
                .map(|d| (*d).to_owned())
                .collect::<Vec<_>>(),
        )
    };
    assert_eq!(
        template.custom_metrics(),
        BTreeSet::from([
            metric("AnswerLatency", &["Provider"]),
            metric("Deliveries", &["Outcome", "Provider"]),
            metric("Files", &["Outcome"]),
            metric("Requests", &["Provider"]),
            metric("SpoolReplays", &["Outcome"]),
        ])
    );
}

#[test]
fn every_function_logs_json_to_its_log_group_with_the_metrics_namespace() {
    let template = template();
    let functions = template.resources_of_type(SAM_FUNCTION);
    for webhook in Webhook::ALL {
        assert!(functions.contains(&WebhookResources::of(&template, webhook).function));
    }
    for id in functions {
        let function = template.resource(&id).expect("declared");
        let props = &function["Properties"];
        let logging = &props["LoggingConfig"];
        assert_eq!(logging["LogFormat"], "JSON", "{id}");
        assert_eq!(
            logging["ApplicationLogLevel"],
            json!({"Ref": "ApplicationLogLevel"}),
            "{id}"
        );
        assert_eq!(
            logging["SystemLogLevel"],
            json!({"Ref": "SystemLogLevel"}),
            "{id}"
        );
        let group = logging["LogGroup"]["Ref"]
            .as_str()
            .unwrap_or_else(|| panic!("{id}: LogGroup is not a Ref"));
        let group = template.resource(group).expect("the log group is declared");
        assert_eq!(group["Type"], "AWS::Logs::LogGroup", "{id}");
        let binary = function["Metadata"]["BuildProperties"]["Binary"]
            .as_str()
            .expect("binary");
        assert_eq!(
            group["Properties"]["LogGroupName"],
            json!({"Fn::Sub": format!("/aws/lambda/${{AWS::StackName}}/{binary}")}),
            "{id}"
        );
        assert_eq!(
            props["Environment"]["Variables"]["METRICS_NAMESPACE"],
            json!({"Fn::Sub": "callvault/${AWS::StackName}"}),
            "{id}"
        );
    }
}

#[test]
fn the_consumer_policy_allows_both_invocations_of_the_query_api_url() {
    let template = template();
    let policy = template
        .resource("QueryApiConsumerPolicy")
        .expect("declared");
    assert_eq!(policy["Type"], "AWS::IAM::ManagedPolicy");
    let statements = policy["Properties"]["PolicyDocument"]["Statement"]
        .as_array()
        .expect("statements");
    let query_api = json!({"Fn::GetAtt": ["QueryApiFunction", "Arn"]});
    let statement = |action: &str| {
        statements
            .iter()
            .find(|s| s["Action"] == action)
            .unwrap_or_else(|| panic!("no statement allows {action}"))
    };
    let url = statement("lambda:InvokeFunctionUrl");
    assert_eq!(url["Effect"], "Allow");
    assert_eq!(url["Resource"], query_api);
    assert_eq!(
        url["Condition"],
        json!({"StringEquals": {"lambda:FunctionUrlAuthType": "AWS_IAM"}})
    );
    let invoke = statement("lambda:InvokeFunction");
    assert_eq!(invoke["Effect"], "Allow");
    assert_eq!(invoke["Resource"], query_api);
    let output = &template.document()["Outputs"]["QueryApiConsumerPolicyArn"];
    assert_eq!(output["Value"], json!({"Ref": "QueryApiConsumerPolicy"}));
}

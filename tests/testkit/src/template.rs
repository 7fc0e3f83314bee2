//! The infrastructure template (`infra/template.yaml`) read as data, and what a deployment of
//! it with given parameter values creates.
//!
//! [`Template::load`] reads the template, short-form tags (`!Ref`, `!Sub`, `!If`, ...) included:
//! each becomes the long form CloudFormation itself uses (`{"Ref": ...}`, `{"Fn::Sub": ...}`,
//! `!GetAtt A.B` as `{"Fn::GetAtt": ["A", "B"]}`). [`Template::deploy`] takes parameter values
//! (the template's defaults for the others) and evaluates the `Conditions` (`Fn::Equals`,
//! `Fn::Not`, `Fn::And`, `Fn::Or`, `Condition`, with `Fn::Join`, `Fn::Split`, `Fn::Select`
//! and `Ref` to parameters inside), the `Rules` (`Fn::EachMemberIn`, `Fn::Contains`) and from
//! them which resources and outputs are created. [`Template::custom_metrics`] lists the
//! metrics of the functions' own namespace that the alarms and the dashboard read.
//!
//! ```no_run
//! use callvault_testkit::template::Template;
//!
//! let template = Template::load()?;
//! let stack = template.deploy(&[("EnabledProviders", "hatif,voki")])?;
//! assert!(stack.creates("VokiFunction"));
//! assert!(!stack.creates("PostCallFunction"));
//! # Ok::<(), callvault_testkit::template::TemplateError>(())
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

/// The SAM resource type of a function, whose properties `Globals.Function` completes.
pub const SAM_FUNCTION: &str = "AWS::Serverless::Function";

/// The CloudWatch alarm resource type.
pub const ALARM: &str = "AWS::CloudWatch::Alarm";

/// The CloudWatch dashboard resource type.
pub const DASHBOARD: &str = "AWS::CloudWatch::Dashboard";

/// Why the template could not be read, or a deployment of it not evaluated.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    /// The file could not be read.
    #[error("reading {}: {source}", path.display())]
    Read {
        /// The template's path.
        path: PathBuf,
        /// What went wrong.
        #[source]
        source: std::io::Error,
    },
    /// The text is not YAML.
    #[error("the template is not YAML: {source}")]
    Yaml {
        /// What the parser said.
        #[source]
        source: serde_yaml_ng::Error,
    },
    /// The template holds something this reader does not understand.
    #[error("{at}: {reason}")]
    Unsupported {
        /// Where in the template (`Resources.X.Properties...`).
        at: String,
        /// What is not understood; extend `tests/testkit/src/template.rs` if it is valid.
        reason: String,
    },
    /// A parameter given to [`Template::deploy`] is not declared.
    #[error("the template has no parameter {0}: name one of its Parameters")]
    UnknownParameter(String),
    /// A parameter has no value: it has no `Default` and none was given.
    #[error("parameter {0} has no Default: give it a value")]
    MissingParameter(String),
    /// A parameter value the template refuses (`AllowedValues`, `MinValue`, `MaxValue`, or
    /// not a number where one is expected).
    #[error("parameter {name} = {value:?} is refused: {reason}")]
    RefusedParameter {
        /// The parameter.
        name: String,
        /// The value given.
        value: String,
        /// Which constraint it breaks.
        reason: String,
    },
    /// A rule's assertion is false for the parameter values: CloudFormation would refuse them.
    #[error("rule {rule} refuses the parameters: {description}")]
    Rule {
        /// The rule's name.
        rule: String,
        /// The assertion's `AssertDescription`.
        description: String,
    },
}

/// The template, with every short-form tag in its long form.
#[derive(Debug, Clone)]
pub struct Template {
    document: Value,
    custom_metrics: BTreeSet<(String, Vec<String>)>,
}

impl Template {
    /// Reads the repository's `infra/template.yaml`.
    pub fn load() -> Result<Self, TemplateError> {
        Self::from_path(&crate::repo_root().join("infra/template.yaml"))
    }

    /// Reads the template at `path`.
    pub fn from_path(path: &Path) -> Result<Self, TemplateError> {
        let text = std::fs::read_to_string(path).map_err(|source| TemplateError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text)
    }

    /// Reads a template from its YAML text. Fails if its alarms or dashboard (with the
    /// parameters' defaults) cannot be read for [`Self::custom_metrics`].
    pub fn parse(text: &str) -> Result<Self, TemplateError> {
        let yaml: serde_yaml_ng::Value =
            serde_yaml_ng::from_str(text).map_err(|source| TemplateError::Yaml { source })?;
        let document = long_form(&yaml, "")?;
        let mut template = Self {
            document,
            custom_metrics: BTreeSet::new(),
        };
        template.custom_metrics = template.read_custom_metrics()?;
        Ok(template)
    }

    /// The whole template in long form.
    pub fn document(&self) -> &Value {
        &self.document
    }

    /// The logical ids of every declared resource, whatever its condition.
    pub fn declared_resources(&self) -> BTreeSet<String> {
        section(&self.document, "Resources")
            .keys()
            .cloned()
            .collect()
    }

    /// The logical ids of every declared output, whatever its condition.
    pub fn declared_outputs(&self) -> BTreeSet<String> {
        section(&self.document, "Outputs").keys().cloned().collect()
    }

    /// The logical ids of the declared resources of type `kind`, whatever their condition.
    pub fn resources_of_type(&self, kind: &str) -> BTreeSet<String> {
        section(&self.document, "Resources")
            .iter()
            .filter(|(_, r)| r["Type"] == kind)
            .map(|(id, _)| id.clone())
            .collect()
    }

    /// Resource `id` as declared, a SAM function's properties completed by
    /// `Globals.Function` as SAM does (maps merged, lists appended, the function's own
    /// value winning otherwise); `Fn::If` still unresolved.
    pub fn resource(&self, id: &str) -> Option<Value> {
        let mut resource = section(&self.document, "Resources").get(id)?.clone();
        if resource["Type"] == SAM_FUNCTION {
            let globals = self.document["Globals"]["Function"].clone();
            if globals.is_object() {
                let own = resource
                    .get("Properties")
                    .cloned()
                    .unwrap_or(Value::Object(Map::new()));
                resource["Properties"] = merge_globals(globals, own);
            }
        }
        Some(resource)
    }

    /// The value `METRICS_NAMESPACE` is given in `Globals.Function` (the functions' metric
    /// namespace, as the template writes it: `callvault/${AWS::StackName}`).
    pub fn metrics_namespace(&self) -> Option<&str> {
        let value =
            &self.document["Globals"]["Function"]["Environment"]["Variables"]["METRICS_NAMESPACE"];
        value
            .get("Fn::Sub")
            .and_then(Value::as_str)
            .or_else(|| value.as_str())
    }

    /// The metrics of the functions' namespace ([`Self::metrics_namespace`]) that the alarms
    /// and dashboards read, as (metric name, its dimension names sorted).
    ///
    /// Alarms: every declared alarm, whatever its condition, and both branches of any
    /// `Fn::If` in it (`MetricName` with `Namespace` and `Dimensions`, at the top or in
    /// `Metrics[].MetricStat.Metric`). Dashboards: their body as the parameters' defaults
    /// render it; a metric is an array `[namespace, name, dimension, value, ...]` (each written
    /// in full: the `"."`/`"..."` shorthands are refused) or a `SEARCH('{namespace,dimension,
    /// ...} MetricName="name" ...')` expression.
    pub fn custom_metrics(&self) -> BTreeSet<(String, Vec<String>)> {
        self.custom_metrics.clone()
    }

    /// A deployment with the `given` parameter values and the template's defaults for the
    /// others: its conditions, and the resources and outputs it creates.
    pub fn deploy(&self, given: &[(&str, &str)]) -> Result<Deployment<'_>, TemplateError> {
        let parameters = self.parameters(given)?;
        let mut evaluator = Evaluator {
            template: self,
            parameters: &parameters,
            conditions: BTreeMap::new(),
            visiting: Vec::new(),
        };
        for name in section(&self.document, "Conditions").keys() {
            evaluator.condition(name)?;
        }
        evaluator.check_rules()?;
        let conditions = evaluator.conditions;
        let created = |entry: &Value| match entry.get("Condition").and_then(Value::as_str) {
            Some(name) => conditions.get(name).copied().unwrap_or(false),
            None => true,
        };
        let mut resources = BTreeSet::new();
        for (id, resource) in section(&self.document, "Resources") {
            if created(resource) {
                resources.insert(id.clone());
                // What SAM generates from a function that the template can refer to.
                if resource["Type"] == SAM_FUNCTION
                    && resource["Properties"].get("FunctionUrlConfig").is_some()
                {
                    resources.insert(format!("{id}Url"));
                }
            }
        }
        let outputs = section(&self.document, "Outputs")
            .iter()
            .filter(|(_, output)| created(output))
            .map(|(id, _)| id.clone())
            .collect();
        Ok(Deployment {
            template: self,
            parameters,
            conditions,
            resources,
            outputs,
        })
    }

    /// The logical ids a deployment with the `given` parameter values creates (see
    /// [`Deployment::resources`]).
    pub fn resources(&self, given: &[(&str, &str)]) -> Result<BTreeSet<String>, TemplateError> {
        Ok(self.deploy(given)?.resources)
    }

    fn parameters(&self, given: &[(&str, &str)]) -> Result<Parameters, TemplateError> {
        let declared = section(&self.document, "Parameters");
        for (name, _) in given {
            if !declared.contains_key(*name) {
                return Err(TemplateError::UnknownParameter((*name).to_owned()));
            }
        }
        let mut values = BTreeMap::new();
        for (name, declaration) in declared {
            let text = match given.iter().rev().find(|(n, _)| n == name) {
                Some((_, value)) => (*value).to_owned(),
                None => match declaration.get("Default") {
                    Some(default) => scalar_text(default).ok_or_else(|| {
                        unsupported(
                            format!("Parameters.{name}.Default"),
                            "a default must be a string, number or boolean",
                        )
                    })?,
                    None => return Err(TemplateError::MissingParameter(name.clone())),
                },
            };
            check_parameter(name, declaration, &text)?;
            let kind = declaration["Type"].as_str().unwrap_or("String");
            let value = if kind == "CommaDelimitedList" || kind.starts_with("List<") {
                Evaluated::List(text.split(',').map(|s| s.trim().to_owned()).collect())
            } else {
                Evaluated::Text(text)
            };
            values.insert(name.clone(), value);
        }
        Ok(Parameters(values))
    }

    fn read_custom_metrics(&self) -> Result<BTreeSet<(String, Vec<String>)>, TemplateError> {
        let mut found = BTreeSet::new();
        let Some(namespace) = self.metrics_namespace() else {
            return Ok(found);
        };
        for id in self.resources_of_type(ALARM) {
            let resource = &section(&self.document, "Resources")[&id];
            alarm_metrics(&resource["Properties"], namespace, &mut found);
        }
        let dashboards = self.resources_of_type(DASHBOARD);
        if !dashboards.is_empty() {
            let stack = self.deploy(&[])?;
            for id in dashboards {
                let body = stack.dashboard_body(&id)?;
                dashboard_metrics(&body, namespace, &format!("Resources.{id}"), &mut found)?;
            }
        }
        Ok(found)
    }
}

/// Parameter values of one deployment.
#[derive(Debug, Clone)]
struct Parameters(BTreeMap<String, Evaluated>);

/// One deployment of the template: parameter values, the conditions' values, and what is
/// created.
#[derive(Debug, Clone)]
pub struct Deployment<'t> {
    template: &'t Template,
    parameters: Parameters,
    conditions: BTreeMap<String, bool>,
    resources: BTreeSet<String>,
    outputs: BTreeSet<String>,
}

/// A `Ref`, `Fn::GetAtt`, `${...}` of `Fn::Sub`, or `DependsOn` in a created resource or
/// output (outside the branches `Fn::If` does not take).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Reference {
    /// Where it is: `Resources.<id>` or `Outputs.<id>`.
    pub from: String,
    /// The parameter, resource or pseudo parameter (`AWS::...`) it names.
    pub target: String,
}

impl Deployment<'_> {
    /// The value of condition `name` (`None` if the template has no such condition).
    pub fn condition(&self, name: &str) -> Option<bool> {
        self.conditions.get(name).copied()
    }

    /// Every condition's value.
    pub fn conditions(&self) -> &BTreeMap<String, bool> {
        &self.conditions
    }

    /// The parameters' names.
    pub fn parameter_names(&self) -> BTreeSet<String> {
        self.parameters.0.keys().cloned().collect()
    }

    /// The logical ids created: the template's resources whose condition holds (or that
    /// have none) and, of a created SAM function with a `FunctionUrlConfig`, the
    /// `<id>Url` SAM generates for it.
    pub fn resources(&self) -> &BTreeSet<String> {
        &self.resources
    }

    /// Whether resource `id` is created.
    pub fn creates(&self, id: &str) -> bool {
        self.resources.contains(id)
    }

    /// The outputs' logical ids.
    pub fn outputs(&self) -> &BTreeSet<String> {
        &self.outputs
    }

    /// Created resource `id` as deployed: SAM globals merged ([`Template::resource`]),
    /// every `Fn::If` replaced by the branch taken and `AWS::NoValue` left out (other
    /// intrinsic functions stay as written). `None` if it is not created (or generated by
    /// SAM).
    pub fn resource(&self, id: &str) -> Result<Option<Value>, TemplateError> {
        match self.template.resource(id) {
            Some(resource) if self.creates(id) => Ok(Some(self.resolve(&resource)?)),
            _ => Ok(None),
        }
    }

    /// `value` with every `Fn::If` replaced by the branch taken and `AWS::NoValue` left out
    /// of lists and maps.
    pub fn resolve(&self, value: &Value) -> Result<Value, TemplateError> {
        Ok(self.resolve_at(value, "")?.unwrap_or(Value::Null))
    }

    /// The text a string-valued expression produces: `Fn::Sub`, `Fn::Join`, `Fn::Select`,
    /// `Fn::Split`, `Fn::If` evaluated, parameters replaced by their values, and
    /// resources and pseudo parameters left as `${Name}` or `${Name.Attribute}` (so
    /// `!Sub "callvault/${AWS::StackName}"` renders as it is written).
    pub fn render(&self, value: &Value) -> Result<String, TemplateError> {
        let mut evaluator = self.evaluator();
        match evaluator.evaluate(value, "")? {
            Evaluated::Text(text) => Ok(text),
            Evaluated::NoValue => Ok(String::new()),
            other => Err(unsupported(
                "",
                format!("{value} evaluates to {other:?}, not text"),
            )),
        }
    }

    /// The body of dashboard `id` as JSON.
    pub fn dashboard_body(&self, id: &str) -> Result<Value, TemplateError> {
        let at = format!("Resources.{id}.Properties.DashboardBody");
        let resource = section(&self.template.document, "Resources")
            .get(id)
            .ok_or_else(|| unsupported(&at, "no such dashboard"))?;
        let text = self.render(&resource["Properties"]["DashboardBody"])?;
        serde_json::from_str(&text).map_err(|e| {
            unsupported(
                &at,
                format!("the body is not JSON ({e}); as rendered:\n{text}"),
            )
        })
    }

    /// Every reference in the created resources (their properties, SAM globals included,
    /// and `DependsOn`) and outputs, leaving out the branches `Fn::If` does not take.
    pub fn references(&self) -> Result<Vec<Reference>, TemplateError> {
        let mut found = Vec::new();
        for id in &self.resources {
            let Some(resource) = self.template.resource(id) else {
                continue; // generated by SAM
            };
            let from = format!("Resources.{id}");
            self.collect_references(&resource["Properties"], &from, &mut found)?;
            match &resource["DependsOn"] {
                Value::String(target) => found.push(Reference {
                    from: from.clone(),
                    target: target.clone(),
                }),
                Value::Array(targets) => {
                    for target in targets.iter().filter_map(Value::as_str) {
                        found.push(Reference {
                            from: from.clone(),
                            target: target.to_owned(),
                        });
                    }
                }
                _ => {}
            }
        }
        for id in &self.outputs {
            let output = &section(&self.template.document, "Outputs")[id];
            let from = format!("Outputs.{id}");
            self.collect_references(&output["Value"], &from, &mut found)?;
            self.collect_references(&output["Export"], &from, &mut found)?;
        }
        Ok(found)
    }

    fn collect_references(
        &self,
        value: &Value,
        from: &str,
        found: &mut Vec<Reference>,
    ) -> Result<(), TemplateError> {
        let push = |found: &mut Vec<Reference>, target: &str| {
            found.push(Reference {
                from: from.to_owned(),
                target: target.to_owned(),
            })
        };
        match value {
            Value::Array(items) => {
                for item in items {
                    self.collect_references(item, from, found)?;
                }
            }
            Value::Object(map) => match intrinsic(map) {
                Some(("Ref", Value::String(target))) => push(found, target),
                Some(("Fn::GetAtt", Value::Array(parts))) => {
                    if let Some(target) = parts.first().and_then(Value::as_str) {
                        push(found, target);
                    }
                }
                Some(("Fn::If", args)) => {
                    let (condition, yes, no) = if_arguments(args, from)?;
                    let taken = if self.condition_value(condition, from)? {
                        yes
                    } else {
                        no
                    };
                    self.collect_references(taken, from, found)?;
                }
                Some(("Fn::Sub", args)) => {
                    let (text, variables) = sub_arguments(args, from)?;
                    for name in sub_variables(text) {
                        let target = name.split('.').next().unwrap_or(&name);
                        if !variables.contains_key(target) {
                            push(found, target);
                        }
                    }
                    for value in variables.values() {
                        self.collect_references(value, from, found)?;
                    }
                }
                _ => {
                    for item in map.values() {
                        self.collect_references(item, from, found)?;
                    }
                }
            },
            _ => {}
        }
        Ok(())
    }

    fn condition_value(&self, name: &str, at: &str) -> Result<bool, TemplateError> {
        self.conditions
            .get(name)
            .copied()
            .ok_or_else(|| unsupported(at, format!("Fn::If on undeclared condition {name}")))
    }

    fn resolve_at(&self, value: &Value, at: &str) -> Result<Option<Value>, TemplateError> {
        Ok(Some(match value {
            Value::Array(items) => {
                let mut resolved = Vec::with_capacity(items.len());
                for item in items {
                    resolved.extend(self.resolve_at(item, at)?);
                }
                Value::Array(resolved)
            }
            Value::Object(map) => match intrinsic(map) {
                Some(("Ref", Value::String(name))) if name == "AWS::NoValue" => return Ok(None),
                Some(("Fn::If", args)) => {
                    let (condition, yes, no) = if_arguments(args, at)?;
                    let taken = if self.condition_value(condition, at)? {
                        yes
                    } else {
                        no
                    };
                    return self.resolve_at(taken, at);
                }
                _ => {
                    let mut resolved = Map::new();
                    for (key, item) in map {
                        if let Some(item) = self.resolve_at(item, at)? {
                            resolved.insert(key.clone(), item);
                        }
                    }
                    Value::Object(resolved)
                }
            },
            other => other.clone(),
        }))
    }

    fn evaluator(&self) -> Evaluator<'_> {
        Evaluator {
            template: self.template,
            parameters: &self.parameters,
            conditions: self.conditions.clone(),
            visiting: Vec::new(),
        }
    }
}

/// The value of an expression.
#[derive(Debug, Clone, PartialEq)]
enum Evaluated {
    Text(String),
    List(Vec<String>),
    Bool(bool),
    NoValue,
}

impl Evaluated {
    fn text(self, at: &str) -> Result<String, TemplateError> {
        match self {
            Evaluated::Text(text) => Ok(text),
            Evaluated::Bool(b) => Ok(b.to_string()),
            other => Err(unsupported(at, format!("{other:?} where text is expected"))),
        }
    }
}

/// Evaluates expressions for one set of parameter values; computes conditions on demand.
struct Evaluator<'a> {
    template: &'a Template,
    parameters: &'a Parameters,
    conditions: BTreeMap<String, bool>,
    visiting: Vec<String>,
}

impl Evaluator<'_> {
    fn condition(&mut self, name: &str) -> Result<bool, TemplateError> {
        if let Some(value) = self.conditions.get(name) {
            return Ok(*value);
        }
        let at = format!("Conditions.{name}");
        if self.visiting.iter().any(|n| n == name) {
            return Err(unsupported(at, "the condition refers to itself"));
        }
        let definition = section(&self.template.document, "Conditions")
            .get(name)
            .ok_or_else(|| unsupported(&at, "no such condition"))?;
        self.visiting.push(name.to_owned());
        let value = self.evaluate(definition, &at);
        self.visiting.pop();
        let value = match value? {
            Evaluated::Bool(value) => value,
            other => return Err(unsupported(at, format!("{other:?} is not true or false"))),
        };
        self.conditions.insert(name.to_owned(), value);
        Ok(value)
    }

    fn check_rules(&mut self) -> Result<(), TemplateError> {
        for (rule, body) in section(&self.template.document, "Rules") {
            let at = format!("Rules.{rule}");
            if let Some(applies) = body.get("RuleCondition") {
                if !self.truth(applies, &at)? {
                    continue;
                }
            }
            for assertion in body["Assertions"].as_array().into_iter().flatten() {
                if !self.truth(&assertion["Assert"], &at)? {
                    return Err(TemplateError::Rule {
                        rule: rule.clone(),
                        description: assertion["AssertDescription"]
                            .as_str()
                            .unwrap_or("(no AssertDescription)")
                            .to_owned(),
                    });
                }
            }
        }
        Ok(())
    }

    fn truth(&mut self, value: &Value, at: &str) -> Result<bool, TemplateError> {
        match self.evaluate(value, at)? {
            Evaluated::Bool(b) => Ok(b),
            other => Err(unsupported(at, format!("{other:?} is not true or false"))),
        }
    }

    fn list(&mut self, value: &Value, at: &str) -> Result<Vec<String>, TemplateError> {
        match value {
            Value::Array(items) => {
                let mut list = Vec::new();
                for item in items {
                    match self.evaluate(item, at)? {
                        Evaluated::NoValue => {}
                        Evaluated::List(inner) => list.extend(inner),
                        other => list.push(other.text(at)?),
                    }
                }
                Ok(list)
            }
            other => match self.evaluate(other, at)? {
                Evaluated::List(list) => Ok(list),
                got => Err(unsupported(at, format!("{got:?} where a list is expected"))),
            },
        }
    }

    fn evaluate(&mut self, value: &Value, at: &str) -> Result<Evaluated, TemplateError> {
        let map = match value {
            Value::String(s) => return Ok(Evaluated::Text(s.clone())),
            Value::Number(n) => return Ok(Evaluated::Text(n.to_string())),
            Value::Bool(b) => return Ok(Evaluated::Text(b.to_string())),
            Value::Array(_) => return Ok(Evaluated::List(self.list(value, at)?)),
            Value::Null => return Err(unsupported(at, "an empty value")),
            Value::Object(map) => map,
        };
        let Some((function, args)) = intrinsic(map) else {
            return Err(unsupported(at, format!("{value} is not an expression")));
        };
        let arguments = |n: usize| -> Result<&Vec<Value>, TemplateError> {
            match args {
                Value::Array(items) if items.len() == n => Ok(items),
                _ => Err(unsupported(at, format!("{function} takes {n} arguments"))),
            }
        };
        Ok(match function {
            "Ref" => {
                let name = args
                    .as_str()
                    .ok_or_else(|| unsupported(at, "Ref of something not a name"))?;
                match self.parameters.0.get(name) {
                    Some(value) => value.clone(),
                    None if name == "AWS::NoValue" => Evaluated::NoValue,
                    None => Evaluated::Text(format!("${{{name}}}")),
                }
            }
            "Fn::GetAtt" => {
                let parts: Vec<&str> = arguments(2)?.iter().filter_map(Value::as_str).collect();
                Evaluated::Text(format!("${{{}}}", parts.join(".")))
            }
            "Condition" => {
                let name = args
                    .as_str()
                    .ok_or_else(|| unsupported(at, "Condition of something not a name"))?;
                Evaluated::Bool(self.condition(name)?)
            }
            "Fn::Equals" => {
                let items = arguments(2)?;
                let a = self.evaluate(&items[0], at)?;
                let b = self.evaluate(&items[1], at)?;
                let text = |v: Evaluated| match v {
                    Evaluated::Bool(b) => Evaluated::Text(b.to_string()),
                    other => other,
                };
                Evaluated::Bool(text(a) == text(b))
            }
            "Fn::Not" => Evaluated::Bool(!self.truth(&arguments(1)?[0], at)?),
            "Fn::And" | "Fn::Or" => {
                let items = args
                    .as_array()
                    .ok_or_else(|| unsupported(at, format!("{function} takes a list")))?;
                let mut values = Vec::with_capacity(items.len());
                for item in items {
                    values.push(self.truth(item, at)?);
                }
                Evaluated::Bool(if function == "Fn::And" {
                    values.iter().all(|v| *v)
                } else {
                    values.iter().any(|v| *v)
                })
            }
            "Fn::If" => {
                let (condition, yes, no) = if_arguments(args, at)?;
                let taken = if self.condition(condition)? { yes } else { no };
                self.evaluate(taken, at)?
            }
            "Fn::Join" => {
                let items = arguments(2)?;
                let delimiter = self.evaluate(&items[0], at)?.text(at)?;
                Evaluated::Text(self.list(&items[1], at)?.join(&delimiter))
            }
            "Fn::Split" => {
                let items = arguments(2)?;
                let delimiter = self.evaluate(&items[0], at)?.text(at)?;
                let source = self.evaluate(&items[1], at)?.text(at)?;
                Evaluated::List(
                    source
                        .split(delimiter.as_str())
                        .map(str::to_owned)
                        .collect(),
                )
            }
            "Fn::Select" => {
                let items = arguments(2)?;
                let index = self.evaluate(&items[0], at)?.text(at)?;
                let index: usize = index
                    .parse()
                    .map_err(|_| unsupported(at, format!("Fn::Select index {index:?}")))?;
                let list = self.list(&items[1], at)?;
                Evaluated::Text(list.get(index).cloned().ok_or_else(|| {
                    unsupported(at, format!("Fn::Select {index} of {} items", list.len()))
                })?)
            }
            "Fn::Sub" => {
                let (text, variables) = sub_arguments(args, at)?;
                let mut values = BTreeMap::new();
                for (name, value) in variables {
                    values.insert(name.clone(), self.evaluate(value, at)?.text(at)?);
                }
                Evaluated::Text(self.substitute(text, &values, at)?)
            }
            "Fn::EachMemberIn" => {
                let items = arguments(2)?;
                let members = self.list(&items[0], at)?;
                let allowed = self.list(&items[1], at)?;
                Evaluated::Bool(members.iter().all(|m| allowed.contains(m)))
            }
            "Fn::Contains" => {
                let items = arguments(2)?;
                let allowed = self.list(&items[0], at)?;
                let value = self.evaluate(&items[1], at)?.text(at)?;
                Evaluated::Bool(allowed.contains(&value))
            }
            other => return Err(unsupported(at, format!("{other} is not evaluated here"))),
        })
    }

    /// `Fn::Sub`'s text with its own variables and the parameters substituted; anything
    /// else (`${AWS::StackName}`, `${Resource.Attribute}`) kept as written, and `${!x}`
    /// written `${x}`.
    fn substitute(
        &self,
        text: &str,
        variables: &BTreeMap<String, String>,
        at: &str,
    ) -> Result<String, TemplateError> {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after
                .find('}')
                .ok_or_else(|| unsupported(at, format!("unclosed ${{ in {text:?}")))?;
            let name = &after[..end];
            if let Some(literal) = name.strip_prefix('!') {
                out.push_str("${");
                out.push_str(literal);
                out.push('}');
            } else if let Some(value) = variables.get(name) {
                out.push_str(value);
            } else if let Some(value) = self.parameters.0.get(name) {
                match value {
                    Evaluated::Text(text) => out.push_str(text),
                    _ => return Err(unsupported(at, format!("${{{name}}} is not text"))),
                }
            } else {
                out.push_str(&rest[start..start + 2 + end + 1]);
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }
}

/// The names in `${...}` of an `Fn::Sub` text (`${!...}` literals left out).
fn sub_variables(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else { break };
        let name = &after[..end];
        if !name.starts_with('!') {
            names.push(name.trim().to_owned());
        }
        rest = &after[end + 1..];
    }
    names
}

fn sub_arguments<'v>(
    args: &'v Value,
    at: &str,
) -> Result<(&'v str, BTreeMap<String, &'v Value>), TemplateError> {
    match args {
        Value::String(text) => Ok((text, BTreeMap::new())),
        Value::Array(items) if items.len() == 2 => {
            let text = items[0]
                .as_str()
                .ok_or_else(|| unsupported(at, "Fn::Sub's first argument is not a string"))?;
            let variables = items[1]
                .as_object()
                .ok_or_else(|| unsupported(at, "Fn::Sub's variables are not a map"))?
                .iter()
                .map(|(k, v)| (k.clone(), v))
                .collect();
            Ok((text, variables))
        }
        _ => Err(unsupported(at, "Fn::Sub takes a string or [string, map]")),
    }
}

fn if_arguments<'v>(
    args: &'v Value,
    at: &str,
) -> Result<(&'v str, &'v Value, &'v Value), TemplateError> {
    match args.as_array().map(Vec::as_slice) {
        Some([Value::String(condition), yes, no]) => Ok((condition, yes, no)),
        _ => Err(unsupported(at, "Fn::If takes [condition, value, value]")),
    }
}

/// The function and argument of a one-key map that is an intrinsic function.
fn intrinsic(map: &Map<String, Value>) -> Option<(&str, &Value)> {
    if map.len() != 1 {
        return None;
    }
    let (key, value) = map.iter().next()?;
    (key == "Ref" || key == "Condition" || key.starts_with("Fn::")).then_some((key.as_str(), value))
}

fn is_intrinsic(value: &Value) -> bool {
    value.as_object().and_then(intrinsic).is_some()
}

/// SAM's merge of `Globals.Function` into a function's properties.
fn merge_globals(global: Value, own: Value) -> Value {
    match (global, own) {
        (Value::Object(mut global), Value::Object(own))
            if !is_intrinsic(&Value::Object(own.clone())) =>
        {
            for (key, value) in own {
                let merged = match global.remove(&key) {
                    Some(g) if !is_intrinsic(&g) => merge_globals(g, value),
                    _ => value,
                };
                global.insert(key, merged);
            }
            Value::Object(global)
        }
        (Value::Array(mut global), Value::Array(own)) => {
            global.extend(own);
            Value::Array(global)
        }
        (_, own) => own,
    }
}

fn section<'d>(document: &'d Value, name: &str) -> &'d Map<String, Value> {
    static EMPTY: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();
    document
        .get(name)
        .and_then(Value::as_object)
        .unwrap_or_else(|| EMPTY.get_or_init(Map::new))
}

fn unsupported(at: impl Into<String>, reason: impl Into<String>) -> TemplateError {
    TemplateError::Unsupported {
        at: at.into(),
        reason: reason.into(),
    }
}

fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// `AllowedValues`, `MinValue` and `MaxValue` of a parameter, as CloudFormation checks them.
fn check_parameter(name: &str, declaration: &Value, text: &str) -> Result<(), TemplateError> {
    let refuse = |reason: String| TemplateError::RefusedParameter {
        name: name.to_owned(),
        value: text.to_owned(),
        reason,
    };
    if let Some(allowed) = declaration.get("AllowedValues").and_then(Value::as_array) {
        let allowed: Vec<String> = allowed.iter().filter_map(scalar_text).collect();
        if !allowed.iter().any(|a| a == text) {
            return Err(refuse(format!("not one of {}", allowed.join(", "))));
        }
    }
    if declaration["Type"] == "Number" {
        let number: f64 = text
            .trim()
            .parse()
            .map_err(|_| refuse("not a number".to_owned()))?;
        if let Some(min) = declaration.get("MinValue").and_then(Value::as_f64) {
            if number < min {
                return Err(refuse(format!("below MinValue {min}")));
            }
        }
        if let Some(max) = declaration.get("MaxValue").and_then(Value::as_f64) {
            if number > max {
                return Err(refuse(format!("above MaxValue {max}")));
            }
        }
    }
    Ok(())
}

/// YAML (short-form tags included) as the long-form JSON CloudFormation reads.
fn long_form(value: &serde_yaml_ng::Value, at: &str) -> Result<Value, TemplateError> {
    use serde_yaml_ng::Value as Yaml;
    Ok(match value {
        Yaml::Null => Value::Null,
        Yaml::Bool(b) => Value::Bool(*b),
        Yaml::Number(n) => {
            serde_json::to_value(n).map_err(|e| unsupported(at, format!("the number {n}: {e}")))?
        }
        Yaml::String(s) => Value::String(s.clone()),
        Yaml::Sequence(items) => Value::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, item)| long_form(item, &format!("{at}[{i}]")))
                .collect::<Result<_, _>>()?,
        ),
        Yaml::Mapping(map) => {
            let mut out = Map::new();
            for (key, item) in map {
                let key = match key {
                    Yaml::String(s) => s.clone(),
                    Yaml::Number(n) => n.to_string(),
                    Yaml::Bool(b) => b.to_string(),
                    other => return Err(unsupported(at, format!("the map key {other:?}"))),
                };
                let path = if at.is_empty() {
                    key.clone()
                } else {
                    format!("{at}.{key}")
                };
                out.insert(key, long_form(item, &path)?);
            }
            Value::Object(out)
        }
        Yaml::Tagged(tagged) => {
            let tag = tagged.tag.to_string();
            let name = tag.trim_start_matches('!');
            let inner = long_form(&tagged.value, at)?;
            let (key, argument) = match name {
                "Ref" => ("Ref".to_owned(), inner),
                "Condition" => ("Condition".to_owned(), inner),
                "GetAtt" => {
                    let argument = match inner {
                        Value::String(s) => {
                            let (resource, attribute) = s.split_once('.').ok_or_else(|| {
                                unsupported(at, format!("!GetAtt {s} names no attribute"))
                            })?;
                            Value::Array(vec![resource.into(), attribute.into()])
                        }
                        other => other,
                    };
                    ("Fn::GetAtt".to_owned(), argument)
                }
                other => (format!("Fn::{other}"), inner),
            };
            let mut out = Map::new();
            out.insert(key, argument);
            Value::Object(out)
        }
    })
}

/// The metrics of `namespace` an alarm's properties name, in both branches of any `Fn::If`.
fn alarm_metrics(value: &Value, namespace: &str, found: &mut BTreeSet<(String, Vec<String>)>) {
    match value {
        Value::Array(items) => {
            for item in items {
                alarm_metrics(item, namespace, found);
            }
        }
        Value::Object(map) => {
            if let (Some(name), Some(ns)) = (
                map.get("MetricName").and_then(Value::as_str),
                map.get("Namespace"),
            ) {
                let ns = ns.get("Fn::Sub").unwrap_or(ns);
                if ns.as_str() == Some(namespace) {
                    let mut dimensions: Vec<String> = map
                        .get("Dimensions")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .filter_map(|d| d["Name"].as_str().map(str::to_owned))
                        .collect();
                    dimensions.sort();
                    found.insert((name.to_owned(), dimensions));
                }
            }
            for item in map.values() {
                alarm_metrics(item, namespace, found);
            }
        }
        _ => {}
    }
}

/// The metrics of `namespace` a dashboard body's metric widgets show.
fn dashboard_metrics(
    body: &Value,
    namespace: &str,
    at: &str,
    found: &mut BTreeSet<(String, Vec<String>)>,
) -> Result<(), TemplateError> {
    for (w, widget) in body["widgets"].as_array().into_iter().flatten().enumerate() {
        let at = format!("{at} widget {w}");
        for entry in widget["properties"]["metrics"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let entry = entry
                .as_array()
                .ok_or_else(|| unsupported(&at, format!("the metric {entry} is not an array")))?;
            if let Some(expression) = entry
                .first()
                .and_then(|first| first.get("expression"))
                .and_then(Value::as_str)
            {
                if let Some(metric) = search_metric(expression, namespace, &at)? {
                    found.insert(metric);
                }
                continue;
            }
            let texts: Vec<&str> = entry.iter().map_while(Value::as_str).collect();
            if texts.iter().any(|t| *t == "." || *t == "...") {
                return Err(unsupported(
                    &at,
                    "a metric uses the \".\"/\"...\" shorthand: write each metric in full",
                ));
            }
            let [ns, name, dimensions @ ..] = texts.as_slice() else {
                return Err(unsupported(
                    &at,
                    format!("the metric {entry:?} is too short"),
                ));
            };
            if *ns != namespace {
                continue;
            }
            if dimensions.len() % 2 != 0 {
                return Err(unsupported(
                    &at,
                    format!("the metric {entry:?} has a dimension without a value"),
                ));
            }
            let mut names: Vec<String> = dimensions
                .chunks(2)
                .map(|pair| pair[0].to_owned())
                .collect();
            names.sort();
            found.insert(((*name).to_owned(), names));
        }
    }
    Ok(())
}

/// The metric a `SEARCH('{namespace,dimension,...} MetricName="name" ...', ...)` expression
/// reads, if it is of `namespace` (`None` for other expressions and namespaces).
fn search_metric(
    expression: &str,
    namespace: &str,
    at: &str,
) -> Result<Option<(String, Vec<String>)>, TemplateError> {
    let Some(start) = expression.find("SEARCH(") else {
        return Ok(None);
    };
    let refuse = |reason: &str| unsupported(at, format!("{expression}: {reason}"));
    let query = expression[start + "SEARCH(".len()..]
        .trim_start()
        .strip_prefix('\'')
        .and_then(|q| q.split_once('\''))
        .map(|(query, _)| query)
        .ok_or_else(|| refuse("the search is not a '...' string"))?;
    let (schema, rest) = search_schema(query).ok_or_else(|| {
        refuse("the search names no {namespace,dimension,...} schema (quote names with \"...\")")
    })?;
    let mut parts = schema.into_iter();
    let ns = parts.next().unwrap_or_default();
    if ns != namespace {
        return Ok(None);
    }
    let mut dimensions: Vec<String> = parts.collect();
    dimensions.sort();
    let name = rest
        .split_whitespace()
        .find_map(|term| term.strip_prefix("MetricName="))
        .map(|n| n.trim_matches('"').to_owned())
        .ok_or_else(|| refuse("the search names no MetricName=\"...\""))?;
    Ok(Some((name, dimensions)))
}

/// The names of a search query's leading `{namespace,dimension,...}` schema (each bare or in
/// double quotes) and the rest of the query.
fn search_schema(query: &str) -> Option<(Vec<String>, &str)> {
    let mut rest = query.trim_start().strip_prefix('{')?;
    let mut names = Vec::new();
    loop {
        rest = rest.trim_start();
        let (name, after) = match rest.strip_prefix('"') {
            Some(quoted) => {
                let end = quoted.find('"')?;
                (&quoted[..end], &quoted[end + 1..])
            }
            None => {
                let end = rest.find([',', '}'])?;
                (rest[..end].trim_end(), &rest[end..])
            }
        };
        names.push(name.to_owned());
        let after = after.trim_start();
        if let Some(next) = after.strip_prefix(',') {
            rest = next;
        } else {
            return Some((names, after.strip_prefix('}')?));
        }
    }
}

//! The pre-chat form: its fields as the site configures them, and the one validation that
//! both the widget (inline errors before sending) and the server (typed refusal) run.

use crate::ids::FieldName;
use crate::limits::{MAX_FIELD_CHARS, MAX_FORM_FIELDS, MAX_TEXTAREA_CHARS};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One field of the pre-chat form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FormField {
    pub name: FieldName,
    /// The visible label, also the field's accessible name.
    pub label: String,
    pub kind: FieldKind,
    #[serde(default)]
    pub required: bool,
    /// Longest answer in characters; at most the kind's own limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length: Option<usize>,
    /// The choices of a `select` field.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
}

/// What kind of input a field is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldKind {
    Text,
    Email,
    Phone,
    Textarea,
    Select,
    /// A checkbox; its answer is `"true"` when ticked. Required means it must be ticked.
    Consent,
}

/// The answers, by field name. Values are trimmed text; a ticked consent is `"true"`.
pub type Answers = BTreeMap<FieldName, String>;

/// What is wrong with one answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "problem", rename_all = "snake_case")]
pub enum FieldProblem {
    #[error("This field is required.")]
    Required,
    #[error("Please use at most {max} characters.")]
    TooLong { max: usize },
    #[error("Please enter an email address like name@example.com.")]
    InvalidEmail,
    #[error("Please enter a phone number (digits, spaces, +, -, parentheses).")]
    InvalidPhone,
    #[error("Please choose one of the options.")]
    NotAnOption,
    #[error("This form has no such field.")]
    UnknownField,
}

/// One field's error.
// No deny_unknown_fields: serde does not support it together with flatten.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    pub field: FieldName,
    #[serde(flatten)]
    pub problem: FieldProblem,
}

/// Why a site's form configuration is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormConfigError {
    #[error("the pre-chat form has more than {MAX_FORM_FIELDS} fields")]
    TooManyFields,
    #[error("the pre-chat form has two fields named {0}")]
    DuplicateField(FieldName),
    #[error("the select field {0} has no options")]
    SelectWithoutOptions(FieldName),
    #[error("the field {0} has options but is not a select")]
    OptionsOnNonSelect(FieldName),
}

/// Checks a form's configuration.
pub fn check_form(fields: &[FormField]) -> Result<(), FormConfigError> {
    if fields.len() > MAX_FORM_FIELDS {
        return Err(FormConfigError::TooManyFields);
    }
    for (i, field) in fields.iter().enumerate() {
        if fields[..i].iter().any(|f| f.name == field.name) {
            return Err(FormConfigError::DuplicateField(field.name.clone()));
        }
        match (field.kind, field.options.is_empty()) {
            (FieldKind::Select, true) => {
                return Err(FormConfigError::SelectWithoutOptions(field.name.clone()));
            }
            (FieldKind::Select, false) | (_, true) => {}
            (_, false) => return Err(FormConfigError::OptionsOnNonSelect(field.name.clone())),
        }
    }
    Ok(())
}

/// The answers with what a verified identity already says filled in: its `name` into a
/// field named `name`, its `email` into every email field — each only where the field takes
/// it, so the widget may skip those fields and the server completes the form.
pub fn prefill(
    fields: &[FormField],
    answers: &Answers,
    name: Option<&str>,
    email: Option<&str>,
) -> Answers {
    let mut filled = answers.clone();
    for field in fields {
        let known = match field.kind {
            FieldKind::Email => email,
            FieldKind::Text if field.name.as_str() == "name" => name,
            _ => None,
        };
        if let Some(value) = known
            && let Ok(Some(cleaned)) = field.check(Some(value))
        {
            filled.insert(field.name.clone(), cleaned);
        }
    }
    filled
}

impl FormField {
    /// The longest answer this field takes, in characters.
    pub fn max_chars(&self) -> usize {
        let limit = match self.kind {
            FieldKind::Textarea => MAX_TEXTAREA_CHARS,
            _ => MAX_FIELD_CHARS,
        };
        self.max_length.map_or(limit, |m| m.min(limit))
    }

    /// Checks one answer (`None` when absent). Returns the cleaned answer, if any.
    pub fn check(&self, answer: Option<&str>) -> Result<Option<String>, FieldProblem> {
        let value = answer.map(str::trim).unwrap_or_default();
        if self.kind == FieldKind::Consent {
            let ticked = value == "true";
            return match (ticked, self.required) {
                (true, _) => Ok(Some("true".into())),
                (false, true) => Err(FieldProblem::Required),
                (false, false) => Ok(None),
            };
        }
        if value.is_empty() {
            return if self.required {
                Err(FieldProblem::Required)
            } else {
                Ok(None)
            };
        }
        let max = self.max_chars();
        if value.chars().count() > max {
            return Err(FieldProblem::TooLong { max });
        }
        match self.kind {
            FieldKind::Email if !is_email(value) => Err(FieldProblem::InvalidEmail),
            FieldKind::Phone if !is_phone(value) => Err(FieldProblem::InvalidPhone),
            FieldKind::Select if !self.options.iter().any(|o| o == value) => {
                Err(FieldProblem::NotAnOption)
            }
            _ => Ok(Some(value.to_string())),
        }
    }
}

/// Validates every answer against `fields`. On success returns the cleaned answers; on
/// failure every field's error, in the form's order (unknown fields last).
pub fn validate(fields: &[FormField], answers: &Answers) -> Result<Answers, Vec<FieldError>> {
    let mut cleaned = Answers::new();
    let mut errors = Vec::new();
    for field in fields {
        match field.check(answers.get(&field.name).map(String::as_str)) {
            Ok(Some(value)) => {
                cleaned.insert(field.name.clone(), value);
            }
            Ok(None) => {}
            Err(problem) => errors.push(FieldError {
                field: field.name.clone(),
                problem,
            }),
        }
    }
    for name in answers.keys() {
        if !fields.iter().any(|f| &f.name == name) {
            errors.push(FieldError {
                field: name.clone(),
                problem: FieldProblem::UnknownField,
            });
        }
    }
    if errors.is_empty() {
        Ok(cleaned)
    } else {
        Err(errors)
    }
}

/// A plausible email address: one `@`, a non-empty local part, a dotted domain, no spaces.
fn is_email(value: &str) -> bool {
    let Some((local, domain)) = value.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && value.len() <= 254
        && !domain.contains('@')
        && !value.chars().any(char::is_whitespace)
        && domain
            .split('.')
            .all(|part| !part.is_empty() && !part.starts_with('-') && !part.ends_with('-'))
        && domain.contains('.')
}

/// A plausible phone number: 5 to 20 digits, with an optional leading `+` and the usual
/// separators.
fn is_phone(value: &str) -> bool {
    let body = value.strip_prefix('+').unwrap_or(value);
    let digits = body.chars().filter(char::is_ascii_digit).count();
    (5..=20).contains(&digits)
        && body
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '-' | '(' | ')' | '.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_verified_name_and_email_fill_the_form() {
        let field = |name: &str, kind| FormField {
            name: FieldName::new(name).expect("name"),
            label: name.into(),
            kind,
            required: true,
            max_length: None,
            options: Vec::new(),
        };
        let fields = [
            field("name", FieldKind::Text),
            field("email", FieldKind::Email),
            field("topic", FieldKind::Text),
        ];
        let mut given = Answers::new();
        given.insert(FieldName::new("topic").expect("name"), "billing".into());
        let filled = prefill(&fields, &given, Some(" Ada "), Some("ada@example.com"));
        assert_eq!(filled.len(), 3);
        assert_eq!(validate(&fields, &filled).map(|a| a.len()), Ok(3));
        assert_eq!(
            filled
                .get(&FieldName::new("name").expect("n"))
                .map(String::as_str),
            Some("Ada")
        );
        // An email the field would refuse is left for the visitor to give.
        let filled = prefill(&fields, &given, None, Some("not an email"));
        assert_eq!(filled.len(), 1);
    }

    fn name(s: &str) -> FieldName {
        FieldName::new(s).expect("name")
    }

    fn field(n: &str, kind: FieldKind, required: bool) -> FormField {
        FormField {
            name: name(n),
            label: n.to_uppercase(),
            kind,
            required,
            max_length: None,
            options: if kind == FieldKind::Select {
                vec!["Sales".into(), "Support".into()]
            } else {
                Vec::new()
            },
        }
    }

    fn demo_form() -> Vec<FormField> {
        vec![
            field("name", FieldKind::Text, true),
            field("email", FieldKind::Email, true),
            field("phone", FieldKind::Phone, false),
            field("topic", FieldKind::Select, false),
            field("consent", FieldKind::Consent, true),
        ]
    }

    fn answers(pairs: &[(&str, &str)]) -> Answers {
        pairs
            .iter()
            .map(|(k, v)| (name(k), v.to_string()))
            .collect()
    }

    #[test]
    fn a_complete_form_is_cleaned() {
        let ok = validate(
            &demo_form(),
            &answers(&[
                ("name", "  Ada  "),
                ("email", "ada@example.com"),
                ("consent", "true"),
                ("phone", ""),
            ]),
        )
        .expect("valid");
        assert_eq!(
            ok,
            answers(&[
                ("name", "Ada"),
                ("email", "ada@example.com"),
                ("consent", "true")
            ])
        );
    }

    #[test]
    fn every_problem_is_reported_in_form_order() {
        let errors = validate(
            &demo_form(),
            &answers(&[
                ("email", "ada@"),
                ("phone", "call me"),
                ("topic", "Billing"),
                ("colour", "red"),
            ]),
        )
        .expect_err("invalid");
        let got: Vec<(&str, FieldProblem)> = errors
            .iter()
            .map(|e| (e.field.as_str(), e.problem.clone()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("name", FieldProblem::Required),
                ("email", FieldProblem::InvalidEmail),
                ("phone", FieldProblem::InvalidPhone),
                ("topic", FieldProblem::NotAnOption),
                ("consent", FieldProblem::Required),
                ("colour", FieldProblem::UnknownField),
            ]
        );
    }

    #[test]
    fn max_length_counts_characters_and_is_capped_by_the_kind() {
        let mut f = field("name", FieldKind::Text, true);
        f.max_length = Some(3);
        assert_eq!(f.check(Some("éé")), Ok(Some("éé".into())));
        assert_eq!(f.check(Some("abcd")), Err(FieldProblem::TooLong { max: 3 }));
        f.max_length = Some(10_000);
        assert_eq!(f.max_chars(), MAX_FIELD_CHARS);
        assert_eq!(
            field("msg", FieldKind::Textarea, false).max_chars(),
            MAX_TEXTAREA_CHARS
        );
    }

    #[test]
    fn emails_and_phones() {
        for good in ["a@b.co", "first.last+tag@sub.example.org"] {
            assert!(is_email(good), "{good}");
        }
        for bad in [
            "", "a", "a@b", "@b.co", "a@b..co", "a b@c.de", "a@b@c.de", "a@-b.co",
        ] {
            assert!(!is_email(bad), "{bad}");
        }
        for good in ["+49 30 1234567", "(030) 123-45", "12345"] {
            assert!(is_phone(good), "{good}");
        }
        for bad in ["1234", "+", "12345x", "phone", "+1 (555) 555-5555 ext 2"] {
            assert!(!is_phone(bad), "{bad}");
        }
    }

    #[test]
    fn an_unticked_optional_consent_is_simply_absent() {
        let f = field("news", FieldKind::Consent, false);
        assert_eq!(f.check(None), Ok(None));
        assert_eq!(f.check(Some("false")), Ok(None));
        assert_eq!(f.check(Some("true")), Ok(Some("true".into())));
    }

    #[test]
    fn field_errors_serialize_with_a_problem_tag() {
        let error = FieldError {
            field: name("email"),
            problem: FieldProblem::TooLong { max: 5 },
        };
        let json = r#"{"field":"email","problem":"too_long","max":5}"#;
        assert_eq!(serde_json::to_string(&error).expect("json"), json);
        assert_eq!(
            serde_json::from_str::<FieldError>(json).expect("parse"),
            error
        );
    }

    #[test]
    fn bad_form_configurations_are_refused() {
        let mut twice = demo_form();
        twice.push(field("email", FieldKind::Text, false));
        assert_eq!(
            check_form(&twice),
            Err(FormConfigError::DuplicateField(name("email")))
        );
        let mut empty_select = field("topic", FieldKind::Select, false);
        empty_select.options.clear();
        assert_eq!(
            check_form(&[empty_select]),
            Err(FormConfigError::SelectWithoutOptions(name("topic")))
        );
        let mut odd = field("name", FieldKind::Text, false);
        odd.options = vec!["x".into()];
        assert_eq!(
            check_form(&[odd]),
            Err(FormConfigError::OptionsOnNonSelect(name("name")))
        );
        assert_eq!(check_form(&demo_form()), Ok(()));
    }
}

//! The site's pre-chat fields as form controls, shared by the pre-chat and leave-a-message
//! forms. Every control has a visible label (required ones marked), the id
//! `pl-field-{name}`, `aria-describedby` pointing at its error paragraph
//! `pl-field-{name}-error` (empty, and so hidden, until there is an error) and
//! `aria-invalid="true"` while the machine reports a problem with it. The controls are
//! uncontrolled: edits are copied into the form's answers, which the form submits.

use super::{config, localized_digits, texts};
use crate::runtime::Runtime;
use leptos::either::EitherOf3;
use leptos::prelude::*;
use porchlight_protocol::{Answers, FieldKind, FieldName, FieldProblem, FormField, Texts};
use web_sys::HtmlInputElement;

/// The control's element id.
pub fn field_id(name: &FieldName) -> String {
    format!("pl-field-{name}")
}

/// `aria-invalid` for a control whose error is `error`.
pub fn aria_invalid(
    error: Memo<Option<String>>,
) -> impl Fn() -> Option<&'static str> + Send + Sync {
    move || error.with(Option::is_some).then_some("true")
}

/// A labelled form row: the label, the control, and its error paragraph.
pub fn row(
    id: String,
    label: &'static str,
    required: bool,
    class: &'static str,
    control: impl IntoView,
    error: Memo<Option<String>>,
) -> impl IntoView {
    let error_id = format!("{id}-error");
    view! {
        <div class=class>
            <label for=id>
                {label}
                {required.then(|| view! { <span class="pl-required" aria-hidden="true">" *"</span> })}
            </label>
            {control}
            <p id=error_id class="pl-field-error">{move || error.get()}</p>
        </div>
    }
}

/// What is wrong with an answer, in the site's words (its language's texts).
pub fn problem_text(texts: &Texts, problem: &FieldProblem) -> String {
    match problem {
        FieldProblem::Required => texts.required_field.clone(),
        FieldProblem::TooLong { max } => texts
            .too_long_field
            .replace("{max}", &localized_digits(texts, &max.to_string())),
        FieldProblem::InvalidEmail => texts.invalid_email.clone(),
        FieldProblem::InvalidPhone => texts.invalid_phone.clone(),
        FieldProblem::NotAnOption => texts.not_an_option.clone(),
        FieldProblem::UnknownField => texts.unknown_field.clone(),
    }
}

/// One field, copying its edits into `values` (a ticked consent is `"true"`).
fn field_view(field: &'static FormField, values: RwSignal<Answers>) -> impl IntoView {
    let runtime = expect_context::<Runtime>();
    let id = field_id(&field.name);
    let described = format!("{id}-error");
    let name = field.name.clone();
    let texts = texts();
    let error = Memo::new({
        let name = name.clone();
        move |_| {
            runtime.widget.with(|w| {
                w.form_errors
                    .iter()
                    .find(|e| e.field == name)
                    .map(|e| problem_text(texts, &e.problem))
            })
        }
    });
    let initial = values.with_untracked(|v| v.get(&name).cloned().unwrap_or_default());
    let edited = move |ev: web_sys::Event| {
        let input = event_target::<HtmlInputElement>(&ev);
        let value = if input.type_() == "checkbox" {
            if input.checked() {
                "true".into()
            } else {
                String::new()
            }
        } else {
            event_target_value(&ev)
        };
        values.update(|v| _ = v.insert(name.clone(), value));
    };
    let max = field.max_chars();
    let required = field.required;
    let control = match field.kind {
        FieldKind::Textarea => EitherOf3::A(view! {
            <textarea
                id=id.clone()
                rows="3"
                maxlength=max
                required=required
                aria-invalid=aria_invalid(error)
                aria-describedby=described
                on:input=edited
            >
                {initial}
            </textarea>
        }),
        FieldKind::Select => {
            let options = field
                .options
                .iter()
                .map(|option| {
                    view! {
                        <option value=option.as_str() selected=*option == initial>
                            {option.as_str()}
                        </option>
                    }
                })
                .collect_view();
            EitherOf3::B(view! {
                <select
                    id=id.clone()
                    required=required
                    aria-invalid=aria_invalid(error)
                    aria-describedby=described
                    on:input=edited
                >
                    <option value=""></option>
                    {options}
                </select>
            })
        }
        kind => {
            let input_type = match kind {
                FieldKind::Email => "email",
                FieldKind::Phone => "tel",
                FieldKind::Consent => "checkbox",
                _ => "text",
            };
            let checked = initial == "true";
            EitherOf3::C(view! {
                <input
                    id=id.clone()
                    type=input_type
                    value=initial
                    checked=checked
                    maxlength=max
                    required=required
                    aria-invalid=aria_invalid(error)
                    aria-describedby=described
                    on:input=edited
                />
            })
        }
    };
    let class = if field.kind == FieldKind::Consent {
        "pl-field pl-field-consent"
    } else {
        "pl-field"
    };
    row(id, &field.label, required, class, control, error)
}

/// The site's pre-chat fields the visitor's identity does not answer (those are filled in
/// by the machine), copying edits into `values`.
#[component]
pub fn Fields(values: RwSignal<Answers>) -> impl IntoView {
    let runtime = expect_context::<Runtime>();
    let known = runtime
        .widget
        .with_untracked(|w| w.prefilled(&Answers::new()));
    config()
        .prechat
        .iter()
        .filter(|field| !known.contains_key(&field.name))
        .map(|field| field_view(field, values))
        .collect_view()
}

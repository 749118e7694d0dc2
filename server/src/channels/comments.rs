//! Facebook and Instagram comments: Meta webhooks whose `entry[].changes[]` carry one
//! comment each, of field `feed` under `object` `page` (Facebook) or field `comments`
//! under `object` `instagram`.
//!
//! Rules: the `object` and the field must be the channel's. Facebook: only new comments
//! (`item` `comment`, `verb` `add`) are customer events, timed by `created_time` in
//! seconds; edits, removals and other feed items are skipped, and a comment whose parent
//! is the post itself has no parent. Instagram: every change is a comment, timed by the
//! entry's `time` in seconds (which it must then carry). On both, the Page's or account's
//! own comments (its replies) are skipped.

use super::inbound::{
    Change, Content, Customer, Events, Inbound, InboundError, check_field, check_object, decode,
    decode_at, name, platform_id, seconds_to_ms, shape, shown, text,
};
use porchlight_protocol::channels::ChannelKind;
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChangesPayload {
    object: String,
    entry: Vec<ChangesEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChangesEntry {
    id: String,
    /// Instagram comments: seconds, the comment's time. Facebook: unused (the comment
    /// carries `created_time`).
    time: Option<u64>,
    changes: Vec<Change>,
}

/// What any Facebook `feed` change says it is.
#[derive(Deserialize)]
struct FeedProbe {
    item: String,
    verb: String,
}

/// A new comment on a Page post.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FeedComment {
    #[serde(rename = "item")]
    _item: String,
    #[serde(rename = "verb")]
    _verb: String,
    post_id: String,
    comment_id: String,
    parent_id: String,
    from: FacebookUser,
    message: String,
    /// Seconds.
    created_time: u64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FacebookUser {
    id: String,
    name: String,
}

pub(super) fn facebook(body: &[u8], events: &mut Events) -> Result<(), InboundError> {
    let kind = ChannelKind::FacebookComments;
    let payload: ChangesPayload = decode(kind, body)?;
    check_object(kind, &payload.object)?;
    for (e, entry) in payload.entry.into_iter().enumerate() {
        let page = platform_id("Facebook page id", entry.id)?;
        for (c, change) in entry.changes.into_iter().enumerate() {
            check_field(kind, "feed", &change.field)?;
            let at = format!("entry[{e}].changes[{c}].value");
            let probe: FeedProbe = decode_at(kind, &at, &change.value)?;
            // Posts, reactions, edits, removals…: no new customer comment.
            if probe.item != "comment" || probe.verb != "add" {
                continue;
            }
            let comment: FeedComment = decode_at(kind, &at, &change.value)?;
            let from = platform_id("Facebook commenter id", comment.from.id)?;
            // The Page's own comments (its replies) are not a customer's.
            if from == page {
                continue;
            }
            let comment_id = platform_id("Facebook comment id", comment.comment_id)?;
            let post = platform_id("Facebook post id", comment.post_id)?;
            let parent = platform_id("Facebook parent id", comment.parent_id)?;
            let what = format!("Facebook comment {}", shown(&comment_id));
            events.push(Inbound {
                customer: Customer {
                    id: from,
                    name: name("Facebook commenter's name", &comment.from.name)?,
                },
                message_id: comment_id.clone(),
                at_ms: seconds_to_ms("comment's created_time", comment.created_time)?,
                content: Content::Comment {
                    text: text(&what, Some(comment.message))?,
                    parent: (parent != post).then_some(parent),
                    post,
                    comment: comment_id,
                },
            })?;
        }
    }
    Ok(())
}

/// A comment on an Instagram post (or a reply to one).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InstagramComment {
    id: String,
    text: String,
    from: InstagramUser,
    media: InstagramMedia,
    parent_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InstagramUser {
    id: String,
    username: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InstagramMedia {
    id: String,
    /// `FEED`, `REELS`…: accepted, not used.
    #[serde(rename = "media_product_type")]
    _product: Option<String>,
}

pub(super) fn instagram(body: &[u8], events: &mut Events) -> Result<(), InboundError> {
    let kind = ChannelKind::InstagramComments;
    let payload: ChangesPayload = decode(kind, body)?;
    check_object(kind, &payload.object)?;
    for (e, entry) in payload.entry.into_iter().enumerate() {
        let account = platform_id("Instagram account id", entry.id)?;
        for (c, change) in entry.changes.into_iter().enumerate() {
            check_field(kind, "comments", &change.field)?;
            let at = format!("entry[{e}].changes[{c}].value");
            let comment: InstagramComment = decode_at(kind, &at, &change.value)?;
            let from = platform_id("Instagram commenter id", comment.from.id)?;
            // The account's own comments (its replies) are not a customer's.
            if from == account {
                continue;
            }
            let time = entry.time.ok_or_else(|| {
                shape(kind, format!("entry[{e}]: missing field `time` (seconds)"))
            })?;
            let comment_id = platform_id("Instagram comment id", comment.id)?;
            let what = format!("Instagram comment {}", shown(&comment_id));
            let parent = comment
                .parent_id
                .map(|p| platform_id("Instagram parent comment id", p))
                .transpose()?;
            events.push(Inbound {
                customer: Customer {
                    id: from,
                    name: name("Instagram commenter's username", &comment.from.username)?,
                },
                message_id: comment_id.clone(),
                at_ms: seconds_to_ms("entry's time", time)?,
                content: Content::Comment {
                    post: platform_id("Instagram media id", comment.media.id)?,
                    comment: comment_id,
                    parent,
                    text: text(&what, Some(comment.text))?,
                },
            })?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::channels::inbound::{Content, Inbound};
    use crate::channels::samples::*;
    use porchlight_protocol::channels::ChannelKind;
    use serde_json::json;

    // ----- Accepted -----

    #[test]
    fn facebook_comments_and_replies_in_a_thread() {
        let post = "104758392011234_998877";
        let mut by_page = feed_value("998877_3", "998877_1", "Thanks, Grace!");
        by_page["from"] = json!({"id": PAGE, "name": "Porchlight Coffee"});
        let mut edited = feed_value("998877_1", post, "edited text");
        edited["verb"] = json!("edited");
        let payload = feed(vec![
            feed_value("998877_1", post, "Is this in stock?"),
            feed_value("998877_2", "998877_1", "Also in blue?"),
            edited,
            json!({"item": "comment", "verb": "remove", "post_id": post, "comment_id": "998877_0", "parent_id": post, "from": {"id": "1", "name": "x"}, "created_time": SECS}),
            json!({"item": "reaction", "verb": "add", "post_id": post, "reaction_type": "like", "from": {"id": "1", "name": "x"}, "created_time": SECS}),
            by_page,
        ]);
        let grace = customer("24681357902468", Some("Grace Hopper"));
        assert_eq!(
            parsed(ChannelKind::FacebookComments, &payload),
            vec![
                Inbound {
                    customer: grace.clone(),
                    message_id: "998877_1".into(),
                    at_ms: SECS * 1_000,
                    content: Content::Comment {
                        post: post.into(),
                        comment: "998877_1".into(),
                        parent: None,
                        text: "Is this in stock?".into(),
                    },
                },
                Inbound {
                    customer: grace,
                    message_id: "998877_2".into(),
                    at_ms: SECS * 1_000,
                    content: Content::Comment {
                        post: post.into(),
                        comment: "998877_2".into(),
                        parent: Some("998877_1".into()),
                        text: "Also in blue?".into(),
                    },
                },
            ]
        );
    }

    #[test]
    fn instagram_comments_and_replies_are_timed_by_the_entry_in_seconds() {
        let mut own = ig_comment_value("17800000000000003", Some("17800000000000001"), "Yes!");
        own["from"] = json!({"id": "17841499999999999", "username": "porchlight.coffee"});
        let payload = ig_comments(vec![
            ig_comment_value("17800000000000001", None, "Where can I buy this?"),
            ig_comment_value(
                "17800000000000002",
                Some("17800000000000001"),
                "Same question",
            ),
            own,
        ]);
        let ada = customer("17841400000000001", Some("ada.codes"));
        assert_eq!(
            parsed(ChannelKind::InstagramComments, &payload),
            vec![
                Inbound {
                    customer: ada.clone(),
                    message_id: "17800000000000001".into(),
                    at_ms: SECS * 1_000,
                    content: Content::Comment {
                        post: "17900000000000042".into(),
                        comment: "17800000000000001".into(),
                        parent: None,
                        text: "Where can I buy this?".into(),
                    },
                },
                Inbound {
                    customer: ada,
                    message_id: "17800000000000002".into(),
                    at_ms: SECS * 1_000,
                    content: Content::Comment {
                        post: "17900000000000042".into(),
                        comment: "17800000000000002".into(),
                        parent: Some("17800000000000001".into()),
                        text: "Same question".into(),
                    },
                },
            ]
        );
    }

    // ----- Refused -----

    #[test]
    fn a_change_of_another_field_is_refused() {
        let payload = json!({"object": "page", "entry": [{"id": PAGE, "time": SECS, "changes": [{"field": "ratings", "value": {}}]}]});
        let sentence = invalid_sentence(ChannelKind::FacebookComments, &payload);
        assert!(
            sentence.contains("\"feed\"") && sentence.contains("\"ratings\""),
            "{sentence}"
        );
    }
}

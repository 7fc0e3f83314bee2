//! Every access pattern against the local emulator, over a seeded data set of 2,000 calls
//! (four providers, ten days, forty numbers, agents, contacts, file states) and two WhatsApp
//! conversations: each list is read page by page and compared with the expected answer.

use std::time::Duration;

use callvault_query::{input, CallFilter, InputError, QueryError, Reader};
use callvault_records::{CallStatus, Provider};
use callvault_store::files::{FileKind, FileStatus};
use callvault_testkit::dataset::{
    numbers_of, recording_content, Dataset, BUSY_CONVERSATION, SMALL_CONVERSATION,
};
use callvault_testkit::Emulator;
use chrono::{TimeZone, Utc};

/// Reads every page of a call list with `limit` per page.
async fn all_calls(
    reader: &Reader,
    filter: &CallFilter,
    limit: usize,
) -> anyhow::Result<(Vec<(Provider, String)>, usize)> {
    let mut ids = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let page = reader.calls(filter, limit, cursor.as_deref()).await?;
        assert!(page.items.len() <= limit, "a page never exceeds its limit");
        pages += 1;
        ids.extend(
            page.items
                .iter()
                .map(|c| (c.provider, c.provider_call_id.clone())),
        );
        match page.cursor {
            Some(next) => cursor = Some(next),
            None => return Ok((ids, pages)),
        }
        assert!(pages < 10_000, "pagination ends");
    }
}

async fn all_messages(
    reader: &Reader,
    conversation: &str,
    limit: usize,
) -> anyhow::Result<Vec<String>> {
    let mut ids = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = reader
            .messages(Provider::Hatif, conversation, limit, cursor.as_deref())
            .await?;
        ids.extend(page.items.iter().map(|m| m.message_id.clone()));
        match page.cursor {
            Some(next) => cursor = Some(next),
            None => return Ok(ids),
        }
    }
}

#[tokio::test]
async fn every_access_pattern_pages_through_the_seeded_table() -> anyhow::Result<()> {
    let emulator = Emulator::start()?;
    let store = emulator.store("calls", "archive").await?;
    let sdk = emulator.sdk_config().await;
    let data = Dataset::generate(7, 2000);
    let started = std::time::Instant::now();
    data.load(&store, &aws_sdk_s3::Client::new(&sdk)).await?;
    eprintln!("loaded in {:?}", started.elapsed());
    let reader = Reader::from_config(&sdk, "calls", "archive");
    reader.warm_up().await?;

    // Every call, newest first, across providers; page size not dividing the total.
    let (ids, pages) = all_calls(&reader, &CallFilter::default(), 450).await?;
    assert_eq!(ids, data.expected(|_| true), "all calls, newest first");
    assert!(
        pages >= 5,
        "2,000 calls at 450 a page take at least 5 pages"
    );
    eprintln!("listed all in {:?}", started.elapsed());

    // One provider within a time range.
    let since = Utc.with_ymd_and_hms(2026, 11, 3, 12, 0, 0).single();
    let until = Utc.with_ymd_and_hms(2026, 11, 6, 0, 0, 0).single();
    let filter = CallFilter {
        provider: Some(Provider::Voki),
        since,
        until,
        ..Default::default()
    };
    let in_range = |c: &callvault_testkit::dataset::SeededCall| {
        let t = c.record.listed_at(c.received_at);
        Some(t) >= since && Some(t) < until
    };
    let expected = data.expected(|c| c.record.provider == Provider::Voki && in_range(c));
    assert!(
        expected.len() > 50,
        "the range holds a fair share of voki calls"
    );
    assert_eq!(all_calls(&reader, &filter, 37).await?.0, expected);

    // Status within the range across providers.
    let filter = CallFilter {
        since,
        until,
        status: Some(CallStatus::Missed),
        ..Default::default()
    };
    let expected = data.expected(|c| c.record.status == CallStatus::Missed && in_range(c));
    assert_eq!(all_calls(&reader, &filter, 40).await?.0, expected);

    // A phone number on either side, typed in another format; the busiest one and the one
    // of a call from a number to itself (listed once).
    for (i, number) in [(0, &data.numbers[0]), (1, &data.numbers[1])] {
        let typed = format!("+1 (415) 555-{}", &number[8..]);
        let phone = input::phone(&typed, None)?;
        assert_eq!(&phone, number, "typed number {i} normalizes");
        let filter = CallFilter {
            phone: Some(phone),
            ..Default::default()
        };
        let expected = data.expected(|c| numbers_of(&c.record).contains(&number.as_str()));
        assert!(expected.len() > 20, "number {i} has many calls");
        assert_eq!(
            all_calls(&reader, &filter, 20).await?.0,
            expected,
            "number {i}"
        );
    }
    let self_call = &data.calls[7].record;
    let own = numbers_of(self_call)[0].to_owned();
    let listed = all_calls(
        &reader,
        &CallFilter {
            phone: Some(own.clone()),
            ..Default::default()
        },
        1000,
    )
    .await?
    .0;
    assert_eq!(
        listed
            .iter()
            .filter(|id| id.1 == self_call.provider_call_id)
            .count(),
        1,
        "a call from and to the same number is listed once"
    );

    // Phone combined with provider and status filters.
    let number = data.numbers[2].clone();
    let filter = CallFilter {
        phone: Some(number.clone()),
        provider: Some(Provider::Hatif),
        status: Some(CallStatus::Completed),
        ..Default::default()
    };
    let expected = data.expected(|c| {
        numbers_of(&c.record).contains(&number.as_str())
            && c.record.provider == Provider::Hatif
            && c.record.status == CallStatus::Completed
    });
    assert_eq!(all_calls(&reader, &filter, 4).await?.0, expected);

    // An agent (across providers, then one provider) and a contact.
    let agent_of =
        |c: &callvault_testkit::dataset::SeededCall| c.record.agent.as_ref().map(|a| a.id.clone());
    let filter = CallFilter {
        agent: Some("agent-03".into()),
        ..Default::default()
    };
    let expected = data.expected(|c| agent_of(c).as_deref() == Some("agent-03"));
    assert!(expected.len() > 50);
    assert_eq!(all_calls(&reader, &filter, 60).await?.0, expected);
    let filter = CallFilter {
        agent: Some("agent-03".into()),
        provider: Some(Provider::PostCall),
        ..Default::default()
    };
    let expected = data.expected(|c| {
        agent_of(c).as_deref() == Some("agent-03") && c.record.provider == Provider::PostCall
    });
    assert_eq!(all_calls(&reader, &filter, 40).await?.0, expected);
    let contact_of = |c: &callvault_testkit::dataset::SeededCall| {
        c.record.contact.as_ref().and_then(|x| x.id.clone())
    };
    let filter = CallFilter {
        contact: Some("contact-011".into()),
        ..Default::default()
    };
    let expected = data.expected(|c| contact_of(c).as_deref() == Some("contact-011"));
    assert!(!expected.is_empty());
    assert_eq!(all_calls(&reader, &filter, 15).await?.0, expected);

    // Operations: recordings pending, failed, and failed of one provider.
    for (state, wanted) in [
        (input::FileState::Pending, "pending"),
        (input::FileState::Failed, "failed"),
    ] {
        let filter = CallFilter {
            file_state: Some(state),
            ..Default::default()
        };
        let expected = data.expected(|c| c.file_state() == Some(wanted));
        assert!(expected.len() > 50, "{wanted} recordings are seeded");
        assert_eq!(
            all_calls(&reader, &filter, 150).await?.0,
            expected,
            "{wanted}"
        );
    }
    let filter = CallFilter {
        file_state: Some(input::FileState::Failed),
        provider: Some(Provider::VoiceInfra),
        ..Default::default()
    };
    let expected = data.expected(|c| {
        c.file_state() == Some("failed") && c.record.provider == Provider::VoiceInfra
    });
    assert_eq!(all_calls(&reader, &filter, 10).await?.0, expected);

    // Messages of a conversation in creation order, across pages; the small one in one page.
    assert_eq!(
        all_messages(&reader, BUSY_CONVERSATION, 17).await?,
        data.expected_messages(BUSY_CONVERSATION)
    );
    assert_eq!(
        all_messages(&reader, SMALL_CONVERSATION, 50).await?,
        data.expected_messages(SMALL_CONVERSATION)
    );

    // Empty results: an unknown number, agent, conversation, an empty time range.
    for filter in [
        CallFilter {
            phone: Some("+14155559999".into()),
            ..Default::default()
        },
        CallFilter {
            agent: Some("nobody".into()),
            ..Default::default()
        },
        CallFilter {
            since: Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0).single(),
            ..Default::default()
        },
    ] {
        let page = reader.calls(&filter, 10, None).await?;
        assert!(page.items.is_empty() && page.cursor.is_none(), "{filter:?}");
    }
    let page = reader
        .messages(Provider::Hatif, "no-such-conversation", 10, None)
        .await?;
    assert!(page.items.is_empty() && page.cursor.is_none());

    // A cursor only continues the query that produced it.
    let first = reader.calls(&CallFilter::default(), 10, None).await?;
    let cursor = first.cursor.expect("more pages");
    let other = CallFilter {
        provider: Some(Provider::Voki),
        ..Default::default()
    };
    assert!(matches!(
        reader.calls(&other, 10, Some(&cursor)).await,
        Err(QueryError::Input(InputError::Cursor))
    ));
    assert!(matches!(
        reader
            .calls(&CallFilter::default(), 10, Some("bm90IGEgY3Vyc29y"))
            .await,
        Err(QueryError::Input(InputError::Cursor))
    ));

    // One call with its history, and its recording.
    let copied = data
        .calls
        .iter()
        .find(|c| c.recording == Some(FileStatus::Copied))
        .expect("a copied recording is seeded");
    let (provider, id) = copied.id();
    let detail = reader.call(provider, &id, None).await?;
    assert_eq!(detail.record, copied.record);
    assert_eq!(detail.events.len(), 1);
    assert_eq!(detail.events[0].event_type, "seed");
    let opened = reader
        .open_file(provider, &id, None, FileKind::Recording)
        .await?;
    assert_eq!(opened.file.status, FileStatus::Copied);
    let bytes = opened.body.collect().await?.into_bytes();
    assert_eq!(bytes.as_ref(), recording_content(&id).as_slice());
    let link = reader
        .file_link(
            provider,
            &id,
            None,
            FileKind::Recording,
            Duration::from_secs(600),
        )
        .await?;
    assert!(link.url.starts_with(emulator.endpoint()), "{}", link.url);
    assert!(link.url.contains("X-Amz-Signature="));
    let fetched = reqwest_get(&link.url).await?;
    assert_eq!(
        fetched,
        recording_content(&id),
        "the presigned link serves the file"
    );

    let pending = data
        .calls
        .iter()
        .find(|c| c.recording == Some(FileStatus::Pending))
        .expect("a pending recording is seeded");
    let (provider, id) = pending.id();
    assert!(matches!(
        reader
            .open_file(provider, &id, None, FileKind::Recording)
            .await,
        Err(QueryError::NotArchived { .. })
    ));
    assert!(matches!(
        reader.call(Provider::Voki, "no-such-call", None).await,
        Err(QueryError::NotFound(_))
    ));
    Ok(())
}

/// Fetches a URL on the emulator with a plain HTTP/1.1 GET.
async fn reqwest_get(url: &str) -> anyhow::Result<Vec<u8>> {
    let response = reqwest::get(url).await?.error_for_status()?;
    Ok(response.bytes().await?.to_vec())
}

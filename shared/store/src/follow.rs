//! Following the table's stream, for `callvault tail` and the local stack's pump: every
//! shard, including the ones that open later, read in turn.

use std::collections::hash_map::Entry;
use std::collections::HashMap;

use aws_sdk_dynamodbstreams::types::{Record, ShardIteratorType};

use crate::record_store::dynamodb as failed;
use crate::StoreError;

/// Where a follower starts reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartAt {
    /// What is written from now on: shards open at the first poll are read from their
    /// latest record; shards that open later, whole.
    Now,
    /// Everything the stream still holds.
    Oldest,
}

/// A reader of the table's stream: each [`poll`](Self::poll) returns what was written since
/// the last one, across every shard.
#[derive(Debug)]
pub struct StreamFollower {
    streams: aws_sdk_dynamodbstreams::Client,
    arn: String,
    /// Each shard's next iterator (`None` once a closed shard is read to its end).
    iterators: HashMap<String, Option<String>>,
    /// How a shard seen at the next poll is opened.
    open_with: ShardIteratorType,
}

impl StreamFollower {
    /// Follows the stream of `table` from `start`. `Ok(None)` when the table has no stream.
    pub async fn new(
        ddb: &aws_sdk_dynamodb::Client,
        streams: aws_sdk_dynamodbstreams::Client,
        table: &str,
        start: StartAt,
    ) -> Result<Option<Self>, StoreError> {
        let description = ddb
            .describe_table()
            .table_name(table)
            .send()
            .await
            .map_err(failed("DescribeTable"))?;
        let Some(arn) = description.table.and_then(|t| t.latest_stream_arn) else {
            return Ok(None);
        };
        Ok(Some(Self {
            streams,
            arn,
            iterators: HashMap::new(),
            open_with: match start {
                StartAt::Now => ShardIteratorType::Latest,
                StartAt::Oldest => ShardIteratorType::TrimHorizon,
            },
        }))
    }

    /// The stream's ARN.
    pub fn arn(&self) -> &str {
        &self.arn
    }

    /// The records written since the last poll, shard by shard.
    pub async fn poll(&mut self) -> Result<Vec<Record>, StoreError> {
        let shards = self
            .streams
            .describe_stream()
            .stream_arn(&self.arn)
            .send()
            .await
            .map_err(failed("DescribeStream"))?
            .stream_description
            .and_then(|d| d.shards)
            .unwrap_or_default();
        for shard in shards {
            let Some(id) = shard.shard_id else { continue };
            if let Entry::Vacant(slot) = self.iterators.entry(id) {
                let iterator = self
                    .streams
                    .get_shard_iterator()
                    .stream_arn(&self.arn)
                    .shard_id(slot.key())
                    .shard_iterator_type(self.open_with.clone())
                    .send()
                    .await
                    .map_err(failed("GetShardIterator"))?
                    .shard_iterator;
                slot.insert(iterator);
            }
        }
        // Shards that open from now on are read whole.
        self.open_with = ShardIteratorType::TrimHorizon;
        let mut records = Vec::new();
        for iterator in self.iterators.values_mut() {
            let Some(current) = iterator.clone() else {
                continue;
            };
            let out = self
                .streams
                .get_records()
                .shard_iterator(current)
                .send()
                .await
                .map_err(failed("GetRecords"))?;
            records.extend(out.records.unwrap_or_default());
            *iterator = out.next_shard_iterator;
        }
        Ok(records)
    }
}

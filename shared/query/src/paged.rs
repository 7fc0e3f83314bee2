//! One page of a list query over one or more index partitions ("sources"), merged in sort-key
//! order. Each source is read only from where the cursor says it stopped, so every page costs
//! at most `limit` matching items per source, whatever page it is.

use std::collections::{BTreeMap, VecDeque};

use aws_sdk_dynamodb::types::AttributeValue;
use callvault_store::schema::{Index, PARTITION_KEY, SORT_KEY};
use callvault_store::{Item, StoreError};

use crate::cursor::{self, Position};
use crate::{InputError, QueryError};

/// Sort direction of a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Order {
    /// Descending sort key (newest first for time keys).
    Descending,
    /// Ascending sort key.
    Ascending,
}

/// A condition on the index sort key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct SortRange {
    /// Smallest sort key (inclusive).
    pub from: Option<String>,
    /// Largest sort key (inclusive).
    pub to: Option<String>,
}

/// One index partition to read.
#[derive(Debug, Clone)]
pub(crate) struct Source {
    /// The index.
    pub index: Index,
    /// The partition key value.
    pub partition: String,
}

/// A filter applied to every source after the key condition (names start with `#f_`,
/// values with `:f_`).
#[derive(Debug, Clone, Default)]
pub(crate) struct Filter {
    terms: Vec<String>,
    names: BTreeMap<String, String>,
    values: BTreeMap<String, AttributeValue>,
}

impl Filter {
    /// Requires the attribute at `path` (dot-separated, e.g. `summary.status`) to equal `value`.
    pub fn equals(&mut self, path: &str, value: &str) {
        let n = self.terms.len();
        let placeholders: Vec<String> = path
            .split('.')
            .map(|part| {
                let name = format!("#f_{part}");
                self.names.insert(name.clone(), part.to_owned());
                name
            })
            .collect();
        self.terms
            .push(format!("{} = :f_{n}", placeholders.join(".")));
        self.values
            .insert(format!(":f_{n}"), AttributeValue::S(value.to_owned()));
    }

    fn describe(&self) -> String {
        let values: Vec<String> = self
            .values
            .iter()
            .map(|(k, v)| format!("{k}={v:?}"))
            .collect();
        format!("{} {}", self.terms.join(" AND "), values.join(","))
    }
}

/// A list query: sources merged in one order, within one sort-key range, with one filter.
#[derive(Debug, Clone)]
pub(crate) struct ListQuery {
    /// The partitions to read.
    pub sources: Vec<Source>,
    /// Sort-key range shared by every source.
    pub range: SortRange,
    /// Filter shared by every source.
    pub filter: Filter,
    /// Merge order.
    pub order: Order,
}

/// One page of results and the cursor of the next page (`None` on the last page).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Page<T> {
    /// The items of this page, in list order.
    pub items: Vec<T>,
    /// Pass this back to read the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
}

impl ListQuery {
    fn fingerprint(&self) -> String {
        let sources: Vec<String> = self
            .sources
            .iter()
            .map(|s| format!("{}={}", s.index.name, s.partition))
            .collect();
        cursor::fingerprint(&format!(
            "{} | {:?} | {} | {:?}",
            sources.join(","),
            self.range,
            self.filter.describe(),
            self.order
        ))
    }

    /// Reads one page of at most `limit` items, after `cursor` if given.
    pub async fn page(
        &self,
        ddb: &aws_sdk_dynamodb::Client,
        table: &str,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<Page<Item>, QueryError> {
        let fingerprint = self.fingerprint();
        let mut positions = match cursor {
            Some(c) => cursor::decode(c, &fingerprint, self.sources.len())?,
            None => vec![Position::Start; self.sources.len()],
        };
        let mut heads = Vec::with_capacity(self.sources.len());
        let mut exhausted = Vec::with_capacity(self.sources.len());
        for (source, position) in self.sources.iter().zip(&positions) {
            let (items, done) = self.fetch(ddb, table, source, position, limit).await?;
            heads.push(VecDeque::from(items));
            exhausted.push(done);
        }

        let mut items = Vec::new();
        while items.len() < limit {
            let Some(best) = self.next_source(&heads) else {
                break;
            };
            let Some(item) = heads[best].pop_front() else {
                break;
            };
            positions[best] = Position::After(self.key_of(&self.sources[best], &item));
            // The same record can be in two sources (a call from and to the same number).
            let table_key = (
                item.get(PARTITION_KEY).cloned(),
                item.get(SORT_KEY).cloned(),
            );
            for (i, head) in heads.iter_mut().enumerate() {
                if head.front().is_some_and(|f| {
                    (f.get(PARTITION_KEY).cloned(), f.get(SORT_KEY).cloned()) == table_key
                }) {
                    if let Some(dup) = head.pop_front() {
                        positions[i] = Position::After(self.key_of(&self.sources[i], &dup));
                    }
                }
            }
            items.push(item);
        }
        for (i, position) in positions.iter_mut().enumerate() {
            if heads[i].is_empty() && exhausted[i] {
                *position = Position::Done;
            }
        }
        let cursor = positions
            .iter()
            .any(|p| *p != Position::Done)
            .then(|| cursor::encode(&fingerprint, &positions));
        Ok(Page { items, cursor })
    }

    /// The source whose next item comes first in list order.
    fn next_source(&self, heads: &[VecDeque<Item>]) -> Option<usize> {
        let sort_key = |i: usize| -> Option<&str> {
            heads[i]
                .front()
                .and_then(|item| item.get(self.sources[i].index.range))
                .and_then(|v| v.as_s().ok())
                .map(String::as_str)
        };
        (0..heads.len())
            .filter(|&i| !heads[i].is_empty())
            .reduce(|a, b| {
                let better = match self.order {
                    Order::Descending => sort_key(b) > sort_key(a),
                    Order::Ascending => sort_key(b) < sort_key(a),
                };
                if better {
                    b
                } else {
                    a
                }
            })
    }

    /// The key attributes DynamoDB needs to continue a query after `item`.
    fn key_of(&self, source: &Source, item: &Item) -> BTreeMap<String, String> {
        [
            PARTITION_KEY,
            SORT_KEY,
            source.index.hash,
            source.index.range,
        ]
        .into_iter()
        .filter_map(|name| {
            item.get(name)
                .and_then(|v| v.as_s().ok())
                .map(|v| (name.to_owned(), v.clone()))
        })
        .collect()
    }

    /// Reads up to `want` matching items of one source from `position` on (more when a
    /// DynamoDB page returns more); `true` when the source has nothing after them.
    async fn fetch(
        &self,
        ddb: &aws_sdk_dynamodb::Client,
        table: &str,
        source: &Source,
        position: &Position,
        want: usize,
    ) -> Result<(Vec<Item>, bool), QueryError> {
        let mut start: Option<Item> = match position {
            Position::Done => return Ok((Vec::new(), true)),
            Position::Start => None,
            Position::After(key) => {
                let expected = [
                    PARTITION_KEY,
                    SORT_KEY,
                    source.index.hash,
                    source.index.range,
                ];
                if !expected.iter().all(|k| key.contains_key(*k)) || key.len() > expected.len() {
                    return Err(InputError::Cursor.into());
                }
                Some(
                    key.iter()
                        .map(|(k, v)| (k.clone(), AttributeValue::S(v.clone())))
                        .collect(),
                )
            }
        };
        let (condition, mut names, mut values) = self.key_condition(source);
        names.extend(self.filter.names.clone());
        values.extend(self.filter.values.clone());
        let mut items = Vec::new();
        loop {
            let mut query = ddb
                .query()
                .table_name(table)
                .index_name(source.index.name)
                .key_condition_expression(&condition)
                .set_expression_attribute_names(Some(names.clone().into_iter().collect()))
                .set_expression_attribute_values(Some(values.clone().into_iter().collect()))
                .scan_index_forward(self.order == Order::Ascending)
                .limit(i32::try_from(want.clamp(1, 1000)).unwrap_or(1000))
                .set_exclusive_start_key(start.take());
            if !self.filter.terms.is_empty() {
                query = query.filter_expression(self.filter.terms.join(" AND "));
            }
            let out = query
                .send()
                .await
                .map_err(|e| StoreError::request(callvault_store::Service::DynamoDb, "Query", e))?;
            items.extend(out.items.unwrap_or_default());
            match out.last_evaluated_key {
                Some(key) if !key.is_empty() => {
                    if items.len() >= want {
                        return Ok((items, false));
                    }
                    start = Some(key);
                }
                _ => return Ok((items, true)),
            }
        }
    }

    /// The key condition of a source with its names and values (`#h = :h`, and the sort-key
    /// range as needed: DynamoDB refuses unused names).
    #[allow(clippy::type_complexity)]
    fn key_condition(
        &self,
        source: &Source,
    ) -> (
        String,
        BTreeMap<String, String>,
        BTreeMap<String, AttributeValue>,
    ) {
        let mut names = BTreeMap::from([("#h".to_owned(), source.index.hash.to_owned())]);
        let mut values =
            BTreeMap::from([(":h".to_owned(), AttributeValue::S(source.partition.clone()))]);
        let range = match (&self.range.from, &self.range.to) {
            (Some(from), Some(to)) => {
                values.insert(":from".into(), AttributeValue::S(from.clone()));
                values.insert(":to".into(), AttributeValue::S(to.clone()));
                " AND #r BETWEEN :from AND :to"
            }
            (Some(from), None) => {
                values.insert(":from".into(), AttributeValue::S(from.clone()));
                " AND #r >= :from"
            }
            (None, Some(to)) => {
                values.insert(":to".into(), AttributeValue::S(to.clone()));
                " AND #r <= :to"
            }
            (None, None) => "",
        };
        if !range.is_empty() {
            names.insert("#r".into(), source.index.range.to_owned());
        }
        (format!("#h = :h{range}"), names, values)
    }
}

//! The template's failed-files metric filter matches the log event the copier writes for each
//! file outcome ([`FILE_OUTCOME_EVENT`]), and an alarm watches its metric.

use callvault_archive::stream::FILE_OUTCOME_EVENT;

#[test]
fn the_failed_files_alarm_counts_the_copiers_outcome_events() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../infra/template.yaml");
    let template = std::fs::read_to_string(path).expect("infra/template.yaml");
    let pattern = format!(
        r#"FilterPattern: '{{ ($.message = "{FILE_OUTCOME_EVENT}") && ($.outcome = "failed") }}'"#
    );
    let filter = template
        .split("\n\n")
        .find(|block| block.contains(&pattern))
        .unwrap_or_else(|| panic!("no metric filter with {pattern}"));
    assert!(
        filter.contains("LogGroupName: !Ref RecordingCopierLogGroup"),
        "{filter}"
    );
    assert!(filter.contains("MetricName: FilesFailed"), "{filter}");
    let alarm = template
        .split("\n\n")
        .find(|block| {
            block.contains("Type: AWS::CloudWatch::Alarm")
                && block.contains("MetricName: FilesFailed")
        })
        .expect("an alarm on FilesFailed");
    assert!(alarm.contains("AlarmActions: [!Ref AlarmTopic]"), "{alarm}");
}

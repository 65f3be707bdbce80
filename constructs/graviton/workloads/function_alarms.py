"""FunctionAlarms: errors, throttles and p99 duration of one function, each to the alarm topic."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_lambda as lambda_

from constructs import Construct
from graviton.workloads.alarm_topic import AlarmTopic

# p99 duration alarms fire at this share of the function's timeout: slow before it fails.
DURATION_ALARM_SHARE = 0.8
ALARM_PERIOD = Duration.minutes(5)


class FunctionAlarms(Construct):
    """Errors, throttles and p99 duration of one function, each to the topic.

    :param function: the function to watch.
    :param topic: where the alarms go.
    :param timeout: the function's timeout; p99 duration alarms at 80% of it.
    """

    def __init__(
        self, scope: Construct, id: str, *, function: lambda_.IFunction, topic: AlarmTopic, timeout: Duration
    ) -> None:
        super().__init__(scope, id)
        threshold_ms = timeout.to_milliseconds() * DURATION_ALARM_SHARE
        watched = {
            "Errors": (function.metric_errors(period=ALARM_PERIOD, statistic="Sum"), 1, "any error"),
            "Throttles": (function.metric_throttles(period=ALARM_PERIOD, statistic="Sum"), 1, "any throttle"),
            "P99Duration": (
                function.metric_duration(period=ALARM_PERIOD, statistic="p99"),
                threshold_ms,
                f"p99 duration at {int(DURATION_ALARM_SHARE * 100)}% of the timeout",
            ),
        }
        self.alarms: dict[str, cloudwatch.Alarm] = {}
        for name, (metric, threshold, what) in watched.items():
            alarm = metric.create_alarm(
                self,
                name,
                threshold=threshold,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
                alarm_description=f"{what} in {int(ALARM_PERIOD.to_minutes())} minutes",
            )
            alarm.add_alarm_action(topic.action)
            alarm.add_ok_action(topic.action)
            self.alarms[name] = alarm

"""SharedLoadBalancer: one public, HTTPS-only Application Load Balancer in front of many ECS services."""

from __future__ import annotations

import re
from typing import cast

from aws_cdk import Duration, RemovalPolicy, Stack, custom_resources
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_logs as logs
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_route53_targets as route53_targets
from aws_cdk import aws_secretsmanager as secretsmanager

from constructs import Construct, IConstruct
from graviton import checkov
from graviton.nag import acknowledge
from graviton.stack_paths import stack_path

# The header CloudFront adds to every request it forwards; the load balancer's rules admit only requests with it.
ORIGIN_HEADER = "X-Origin-Verify"
# AWS's managed prefix list of CloudFront's origin-facing addresses. It weighs 55 of a security group's 60 inbound
# rules, so it is allowed on the one origin port only.
CLOUDFRONT_ORIGIN_FACING = "com.amazonaws.global.cloudfront.origin-facing"
_PREFIX_LIST_ID = "PrefixLists.0.PrefixListId"
# The one AwsCustomResource Lambda CDK creates per stack (custom_resources' singleton id).
_CUSTOM_RESOURCE_SINGLETON = "AWS679f53fac002430cb0da5b7982bd2287"
# The distribution's one origin, the load balancer.
_ORIGIN_ID = "SharedLoadBalancer"
HTTP_PORT = 80
HTTPS_PORT = 443
DEREGISTRATION_DELAY_SECONDS = 30


class SharedLoadBalancer(Construct):
    """One internet-facing ALB whose listener rules send each service's requests to its own target group; no public
    endpoint speaks plain HTTP.

    With ``domain_name`` and ``certificate_arn``: an HTTPS listener on 443 (TLS 1.2 and up) and a listener on 80
    that only redirects to it; with ``hosted_zone_id`` too, the domain and its subdomains point at the load balancer.
    Without them: a CloudFront distribution gives HTTPS on its own domain and forwards to the ALB over HTTP on port
    80, which admits only CloudFront's origin-facing addresses (AWS's managed prefix list, looked up at deploy time,
    so synth needs no credentials) and only requests carrying a secret header CloudFront adds (generated in Secrets
    Manager, referenced dynamically: the value is never in a template). Anything no service's rule takes gets 403
    (CloudFront) or 404 (domain).

    :param vpc: the VPC the load balancer runs in (its public subnets).
    :param domain_name: the domain services answer on, ``https://<domain_name>/<path>`` or
        ``https://<host>.<domain_name>`` (default: none, CloudFront in front).
    :param certificate_arn: the ACM certificate of ``domain_name`` (and ``*.<domain_name>`` for host routing), in
        the stack's region (default: none; required with ``domain_name``).
    :param hosted_zone_id: the public Route 53 hosted zone of ``domain_name``: it gets alias A records for
        ``<domain_name>`` and ``*.<domain_name>`` pointing at the load balancer (default: none, no records: point the
        domain at the load balancer yourself; only with ``domain_name``).
    :param description: the load balancer's security group's description (default: names the construct by its stack
        and path, such as ``DevStack/Front``, and says what the group admits).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        vpc: ec2.IVpc,
        domain_name: str | None = None,
        certificate_arn: str | None = None,
        hosted_zone_id: str | None = None,
        description: str | None = None,
    ) -> None:
        super().__init__(scope, id)
        if bool(domain_name) != bool(certificate_arn):
            raise ValueError("SharedLoadBalancer: domain_name and certificate_arn go together: give both or neither")
        if hosted_zone_id and not domain_name:
            raise ValueError(
                f"SharedLoadBalancer: hosted_zone_id {hosted_zone_id!r} needs domain_name: records are made for the"
                " load balancer's domain only"
            )
        self.vpc = vpc
        self.domain_name = domain_name
        behind_cloudfront = domain_name is None
        # All outbound allowed: otherwise CDK adds one egress rule per service's task group, and a group holds 60.
        self.security_group = ec2.SecurityGroup(
            self,
            "SecurityGroup",
            vpc=vpc,
            allow_all_outbound=True,
            description=description
            or (
                f"{stack_path(self)}: shared load balancer, admitting only CloudFront on {HTTP_PORT}"
                if behind_cloudfront
                else f"{stack_path(self)}: shared load balancer, HTTPS from anywhere and HTTP redirected to it"
            ),
        )
        self.load_balancer = elbv2.ApplicationLoadBalancer(
            self,
            "LoadBalancer",
            vpc=vpc,
            internet_facing=True,
            security_group=self.security_group,
            # Requests whose header names are not valid HTTP are refused, not passed on to the services.
            drop_invalid_header_fields=True,
        )
        self.origin_secret: secretsmanager.Secret | None = None
        self.distribution: cloudfront.Distribution | None = None
        if behind_cloudfront:
            self.listener = self._behind_cloudfront()
            assert self.distribution is not None
            # The base URL of path-routed services: https://<distribution>.cloudfront.net/<path>.
            self.url: str = f"https://{self.distribution.distribution_domain_name}"
        else:
            assert certificate_arn is not None and domain_name is not None
            self.listener = self._on_domain(certificate_arn)
            self.url = f"https://{domain_name}"
            if hosted_zone_id:
                self._add_records(domain_name, hosted_zone_id)
        acknowledge(
            self.load_balancer,
            "ELB2",
            "access logs need a regional log bucket; the ALB's metrics and VPC flow logs stay on",
        )
        checkov.skip(
            self.load_balancer,
            "CKV_AWS_91",
            "access logs need a regional log bucket, billed per request logged; the ALB's metrics and the VPC's"
            " flow logs stay on",
        )

    def _on_domain(self, certificate_arn: str) -> elbv2.ApplicationListener:
        listener = self.load_balancer.add_listener(
            "Https",
            port=HTTPS_PORT,
            protocol=elbv2.ApplicationProtocol.HTTPS,
            certificates=[elbv2.ListenerCertificate.from_arn(certificate_arn)],
            ssl_policy=elbv2.SslPolicy.RECOMMENDED_TLS,
            default_action=elbv2.ListenerAction.fixed_response(
                404, content_type="text/plain", message_body="Not Found"
            ),
        )
        self.load_balancer.add_redirect(source_port=HTTP_PORT, target_port=HTTPS_PORT)
        acknowledge(
            self.security_group,
            "EC23",
            "the public load balancer admits HTTPS from anywhere, and HTTP only to redirect it to HTTPS",
        )
        return listener

    def _add_records(self, domain_name: str, hosted_zone_id: str) -> None:
        zone = route53.HostedZone.from_hosted_zone_attributes(
            self, "Zone", hosted_zone_id=hosted_zone_id, zone_name=domain_name
        )
        target = route53.RecordTarget.from_alias(route53_targets.LoadBalancerTarget(self.load_balancer))
        # The apex for path routes, the wildcard for host routes: both always, so a host-routed service added later
        # answers without a DNS change (explicit records of the zone still win over the wildcard). A records only:
        # the load balancer is IPv4; a dualstack one would need AAAA records as well.
        route53.ARecord(self, "ApexRecord", zone=zone, target=target)
        route53.ARecord(self, "WildcardRecord", zone=zone, record_name="*", target=target)

    def _behind_cloudfront(self) -> elbv2.ApplicationListener:
        prefix_list = custom_resources.AwsCustomResource(
            self,
            "CloudFrontPrefixList",
            on_update=custom_resources.AwsSdkCall(
                service="EC2",
                action="describeManagedPrefixLists",
                parameters={"Filters": [{"Name": "prefix-list-name", "Values": [CLOUDFRONT_ORIGIN_FACING]}]},
                physical_resource_id=custom_resources.PhysicalResourceId.of(CLOUDFRONT_ORIGIN_FACING),
                output_paths=[_PREFIX_LIST_ID],
            ),
            policy=custom_resources.AwsCustomResourcePolicy.from_sdk_calls(
                resources=custom_resources.AwsCustomResourcePolicy.ANY_RESOURCE
            ),
            install_latest_aws_sdk=False,
        )
        self.security_group.add_ingress_rule(
            ec2.Peer.prefix_list(prefix_list.get_response_field(_PREFIX_LIST_ID)),
            ec2.Port.tcp(HTTP_PORT),
            "CloudFront origin-facing addresses only",
        )
        self.origin_secret = secretsmanager.Secret(
            self,
            "OriginSecret",
            description=f"{stack_path(self)}: the header value CloudFront adds and the load balancer requires",
            # Letters and digits: a header condition reads '*' and '?' as wildcards.
            generate_secret_string=secretsmanager.SecretStringGenerator(exclude_punctuation=True, password_length=32),
        )
        self.distribution = cloudfront.Distribution(
            self,
            "Distribution",
            comment=f"HTTPS in front of {stack_path(self)}"[:128],
            default_behavior=cloudfront.BehaviorOptions(
                origin=origins.LoadBalancerV2Origin(
                    self.load_balancer,
                    protocol_policy=cloudfront.OriginProtocolPolicy.HTTP_ONLY,
                    # Not CDK's path-derived id, which differs inside a pipeline's stage.
                    origin_id=_ORIGIN_ID,
                    custom_headers={ORIGIN_HEADER: self.origin_header_value},
                ),
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
                allowed_methods=cloudfront.AllowedMethods.ALLOW_ALL,
                cache_policy=cloudfront.CachePolicy.CACHING_DISABLED,
                origin_request_policy=cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
            ),
        )
        for finding, reason in (
            ("CFR1", "public verification endpoints for every region; no geographic restriction applies"),
            ("CFR2", "WAF is optional here and billed per web ACL; the origin admits only this distribution"),
            ("CFR3", "standard logs need a log bucket, as the load balancer's access logs do; its metrics stay on"),
            ("CFR4", "without a domain the distribution serves its own *.cloudfront.net name and certificate"),
            (
                "CFR5",
                "no certificate can name the load balancer's *.elb.amazonaws.com address; the origin admits only"
                " CloudFront's addresses with the secret header",
            ),
        ):
            acknowledge(self.distribution, finding, reason)
        for check_id, reason in (
            ("CKV_AWS_68", "WAF is optional here and billed per web ACL; the origin admits only this distribution"),
            (
                "CKV_AWS_86",
                "standard logs need a log bucket, as the load balancer's access logs do; its metrics stay on",
            ),
            (
                "CKV_AWS_174",
                "without a domain the distribution serves its own *.cloudfront.net certificate, whose TLS policy"
                " CloudFront sets (TLSv1 minimum); a domain and certificate take the load balancer's HTTPS listener",
            ),
        ):
            checkov.skip(self.distribution, check_id, reason)
        checkov.skip(
            self.origin_secret,
            "CKV_AWS_149",
            "a generated header value CloudFormation reads for CloudFront and the listener rules; the AWS-managed"
            " aws/secretsmanager key serves, and no other principal is granted it",
        )
        acknowledge(
            self.origin_secret,
            "SMG4",
            "rotating the header means updating CloudFront and every listener rule together, in one deploy",
        )
        singleton = Stack.of(self).node.try_find_child(_CUSTOM_RESOURCE_SINGLETON)
        assert singleton is not None, "AwsCustomResource adds its function to the stack"
        acknowledge(
            singleton,
            "IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
            "CDK's AwsCustomResource function writes its own logs",
        )
        acknowledge(
            prefix_list,
            "IAM5[Resource::*]",
            "ec2:DescribeManagedPrefixLists has no resource-level form",
        )
        _skip_custom_resource_function_checks(singleton)
        # CDK retains the function's log group; the logs of one lookup per deploy go with the stack, and so are
        # encrypted with the environment's key, which goes with the stack too.
        singleton_logs = singleton.node.try_find_child("LogGroup")
        if isinstance(singleton_logs, logs.LogGroup):
            singleton_logs.apply_removal_policy(RemovalPolicy.DESTROY)
            # Its name comes from the function's, so nothing orders it before the lookup: a lookup run first makes
            # Lambda create the group, and the group's own create then fails as already there.
            prefix_list.node.add_dependency(singleton_logs)
        listener = self.load_balancer.add_listener(
            "Http",
            port=HTTP_PORT,
            open=False,
            default_action=elbv2.ListenerAction.fixed_response(
                403, content_type="text/plain", message_body="Forbidden"
            ),
        )
        for check_id in ("CKV_AWS_2", "CKV_AWS_103"):
            checkov.skip(
                listener,
                check_id,
                "CloudFront's origin side: viewers reach only CloudFront, over HTTPS; this listener admits only"
                " CloudFront's origin-facing addresses with the secret header (no certificate can name *.elb)",
            )
        return listener

    @property
    def origin_header_value(self) -> str:
        """The secret header's value as a dynamic reference (`{{resolve:secretsmanager:...}}`), never the value."""
        assert self.origin_secret is not None, "only a load balancer behind CloudFront has an origin secret"
        return self.origin_secret.secret_value.unsafe_unwrap()

    def service_url(self, *, path: str | None = None, host: str | None = None) -> str:
        """A service's URL: ``<url><path>`` for a path, ``https://<host>.<domain_name>`` for a host."""
        if host is not None:
            return f"https://{host}.{self.domain_name}"
        assert path is not None, "a service is routed by path or host"
        return f"{self.url.rstrip('/')}{path}"

    def add_service(
        self,
        scope: Construct,
        *,
        service: ecs.FargateService,
        port: int,
        health_path: str,
        priority: int,
        path: str | None = None,
        host: str | None = None,
    ) -> elbv2.ApplicationTargetGroup:
        """Route requests to ``service``: a target group and a listener rule, both in ``scope`` (the service's).

        :param service: the ECS service whose tasks are the targets.
        :param port: the port its container listens on.
        :param health_path: the path the target group checks on each task directly, unprefixed.
        :param priority: the rule's priority, unique on this load balancer (1 to 50,000; lower is evaluated first).
        :param path: the path prefix it answers under (``/web``): the rule takes ``/web`` and ``/web/*`` and strips
            the prefix, so the container serves ``/arch`` as ever (default: none; give ``path`` or ``host``).
        :param host: the host name label it answers at, ``<host>.<domain_name>``, path unchanged (default: none;
            only with a domain).
        """
        if (path is None) == (host is None):
            raise ValueError("SharedLoadBalancer.add_service: give path or host, one of them")
        if host is not None and self.domain_name is None:
            raise ValueError("SharedLoadBalancer.add_service: host routing needs the load balancer's domain_name")
        target_group = elbv2.ApplicationTargetGroup(
            scope,
            "Targets",
            vpc=self.vpc,
            port=port,
            protocol=elbv2.ApplicationProtocol.HTTP,
            target_type=elbv2.TargetType.IP,
            targets=[service],
            health_check=elbv2.HealthCheck(path=health_path, healthy_http_codes="200"),
            # Draining for 30 s, not 5 minutes: deployments and rollbacks finish sooner.
            deregistration_delay=Duration.seconds(DEREGISTRATION_DELAY_SECONDS),
        )
        conditions = (
            [elbv2.ListenerCondition.path_patterns([path, f"{path}/*"])]
            if path is not None
            else [elbv2.ListenerCondition.host_headers([f"{host}.{self.domain_name}"])]
        )
        if self.origin_secret is not None:
            conditions.append(elbv2.ListenerCondition.http_header(ORIGIN_HEADER, [self.origin_header_value]))
        rule = elbv2.ApplicationListenerRule(
            scope,
            "Rule",
            listener=self.listener,
            priority=priority,
            conditions=conditions,
            action=elbv2.ListenerAction.forward([target_group]),
        )
        if path is not None:
            # The L2 rule has no transforms: set the CloudFormation property. `/web/arch` -> `/arch`, `/web` -> `/`.
            cast(elbv2.CfnListenerRule, rule.node.default_child).add_property_override(
                "Transforms", [strip_prefix_transform(path)]
            )
        # CreateService fails on a target group no listener forwards to yet.
        service.node.add_dependency(rule)
        return target_group


def _skip_custom_resource_function_checks(function: IConstruct) -> None:
    """checkov's Lambda checks on CDK's AwsCustomResource function (one per stack), which takes no such options."""
    for check_id, reason in (
        (
            "CKV_AWS_115",
            "CDK's AwsCustomResource function: CloudFormation calls it once per deploy for the prefix list",
        ),
        (
            "CKV_AWS_116",
            "CDK's AwsCustomResource function: it answers CloudFormation itself, which fails the deploy on an error;"
            " no event waits in a queue",
        ),
        ("CKV_AWS_117", "CDK's AwsCustomResource function calls only the EC2 API; a VPC would add nothing but NAT"),
    ):
        checkov.skip(function, check_id, reason)


def strip_prefix_transform(path: str) -> dict:
    """The listener rule transform that removes ``path`` from the front of a request's path."""
    return {
        "Type": "url-rewrite",
        "UrlRewriteConfig": {"Rewrites": [{"Regex": f"^{re.escape(path)}/?(.*)$", "Replace": "/$1"}]},
    }

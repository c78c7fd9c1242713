"""Product images: a private S3 bucket, served through CloudFront (origin access control).

Sellers upload straight to S3 with a presigned POST (size and type enforced by S3 itself);
responses carry CDN URLs. Nothing public: CloudFront is the only reader of the bucket.
"""

from __future__ import annotations

from aws_cdk import Acknowledgment, Duration, Validations
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.config import StageConfig


class ProductImages(Construct):
    def __init__(self, scope: Construct, construct_id: str, config: StageConfig) -> None:
        super().__init__(scope, construct_id)
        auto_delete = config.name != "prod"
        self.logs = s3.Bucket(
            self,
            "AccessLogs",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,  # CloudFront standard logs need ACLs
            lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(90))],
            removal_policy=config.removal_policy,
            auto_delete_objects=auto_delete,
        )
        Validations.of(self.logs).acknowledge(Acknowledgment(
            id="AwsSolutions::AwsSolutions-S1",
            reason="This is the access-log bucket of the images bucket and the CDN; logging it into itself would loop."))
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            server_access_logs_bucket=self.logs,
            server_access_logs_prefix="s3/",
            cors=[s3.CorsRule(allowed_methods=[s3.HttpMethods.POST], allowed_origins=["*"], allowed_headers=["*"], max_age=3000)],
            lifecycle_rules=[s3.LifecycleRule(abort_incomplete_multipart_upload_after=Duration.days(1))],
            removal_policy=config.removal_policy,
            auto_delete_objects=auto_delete,
        )
        self.distribution = cloudfront.Distribution(
            self,
            "Cdn",
            default_behavior=cloudfront.BehaviorOptions(
                origin=origins.S3BucketOrigin.with_origin_access_control(self.bucket),
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
                cache_policy=cloudfront.CachePolicy.CACHING_OPTIMIZED,
                allowed_methods=cloudfront.AllowedMethods.ALLOW_GET_HEAD,
            ),
            enable_logging=True,
            log_bucket=self.logs,
            log_file_prefix="cdn/",
            minimum_protocol_version=cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021,
            price_class=cloudfront.PriceClass.PRICE_CLASS_100,
            comment=f"shop-{config.name} product images",
        )
        for finding, reason in (
            ("AwsSolutions::AwsSolutions-CFR1", "A marketplace sells worldwide; geo restrictions are a business decision per market, not a default."),
            ("AwsSolutions::AwsSolutions-CFR2", "Static product images through origin access control only; a WAF web ACL is attached at the organisation edge per environment."),
            ("AwsSolutions::AwsSolutions-CFR4", "The default *.cloudfront.net certificate is used until a custom domain is configured; the distribution already asks for TLSv1.2_2021 as soon as one is."),
        ):
            Validations.of(self.distribution).acknowledge(Acknowledgment(id=finding, reason=reason))
        self.cdn_url = f"https://{self.distribution.distribution_domain_name}"

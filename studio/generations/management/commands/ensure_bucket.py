from __future__ import annotations

from django.conf import settings
from django.core.files.storage import default_storage
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Create the media bucket (S3_BUCKET) if it does not exist yet (safe to run again)."

    def handle(self, *args, **options):
        from botocore.exceptions import BotoCoreError, ClientError

        bucket = settings.S3_BUCKET
        if not bucket:
            self.stdout.write("S3_BUCKET is not set: media are kept on the local disk.")
            return
        client = default_storage.connection.meta.client
        try:
            try:
                client.head_bucket(Bucket=bucket)
            except ClientError as e:
                if e.response["Error"]["Code"] not in ("404", "NoSuchBucket"):
                    raise
            else:
                self.stdout.write(f"The bucket {bucket} is there.")
                return
            region = client.meta.region_name
            where = {}
            if region and region != "us-east-1":  # the one region S3 refuses to be told about
                where = {"CreateBucketConfiguration": {"LocationConstraint": region}}
            client.create_bucket(Bucket=bucket, **where)
        except (BotoCoreError, ClientError) as e:
            raise CommandError(f"Can't use the bucket {bucket}: {e}") from None
        self.stdout.write(f"Created the bucket {bucket}.")

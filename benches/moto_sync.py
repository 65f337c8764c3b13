"""Helper of benches/moto_sync.sh: seed moto, and time boto3's listing.

    python moto_sync.py seed URL REGIONS TOTAL   # TOTAL untagged instances over REGIONS
    python moto_sync.py boto3 URL REGIONS RUNS   # paginate instances, VPCs, subnets and
                                                 # security groups, region after region
"""
import statistics
import sys
import time

import boto3

KW = dict(aws_access_key_id="AKIAIOSFODNN7EXAMPLE", aws_secret_access_key="x")


def client(url, region):
    return boto3.client("ec2", endpoint_url=url, region_name=region, **KW)


def seed(url, regions, total):
    per = total // len(regions)
    for i, region in enumerate(regions):
        ec2 = client(url, region)
        n = per + (1 if i < total % len(regions) else 0)
        have = sum(
            len(r["Instances"])
            for page in ec2.get_paginator("describe_instances").paginate()
            for r in page["Reservations"]
        )
        left = n - have
        while left > 0:
            # Batches of 25: 50 reservations per region, several pages at MaxResults=... in moto.
            k = min(25, left)
            ec2.run_instances(ImageId="ami-12c6146b", MinCount=k, MaxCount=k, InstanceType="t3.micro")
            left -= k
        print(f"{region}: {n} instances", flush=True)


def list_all(url, regions):
    counts = {}
    for region in regions:
        ec2 = client(url, region)
        for op, key in [
            ("describe_instances", "Reservations"),
            ("describe_vpcs", "Vpcs"),
            ("describe_subnets", "Subnets"),
            ("describe_security_groups", "SecurityGroups"),
        ]:
            n = 0
            for page in ec2.get_paginator(op).paginate(PaginationConfig={"PageSize": 1000}):
                if key == "Reservations":
                    n += sum(len(r["Instances"]) for r in page[key])
                else:
                    n += len(page[key])
            counts[op] = counts.get(op, 0) + n
    return counts


def bench(url, regions, runs):
    times = []
    for run in range(runs):
        t0 = time.perf_counter()
        counts = list_all(url, regions)
        d = time.perf_counter() - t0
        times.append(d)
        print(f"boto3 run {run + 1}: {d:.3f} s {counts}", flush=True)
    print(f"boto3_median_s={statistics.median(times):.3f}")


if __name__ == "__main__":
    cmd, url, regions = sys.argv[1], sys.argv[2], sys.argv[3].split(",")
    if cmd == "seed":
        seed(url, regions, int(sys.argv[4]))
    else:
        bench(url, regions, int(sys.argv[4]))

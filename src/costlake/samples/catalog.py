"""Static catalog behind the sample FOCUS export: providers, accounts, services, SKUs, commitments, tags.

Kept as plain data so the generator's SQL stays generic and the values stay reviewable: every ServiceName maps to
exactly one ServiceCategory/ServiceSubcategory (FOCUS 1.2 rule), prices are public list prices in USD (rounded),
and account ids look like each provider's real ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class Provider:
    name: str
    publisher: str
    invoice_issuer: str
    regions: dict[str, str]  # RegionId -> RegionName
    zone_suffixes: tuple[str, ...]  # AvailabilityZone = RegionId + suffix; empty: the provider leaves it null
    credit_description: str


@dataclass(frozen=True)
class BillingAccount:
    provider: str
    id: str
    name: str
    type: str
    currency: str
    fx_from_usd: Decimal  # prices are published in USD (PricingCurrency); billed in `currency` at this rate
    negotiated_discount: Decimal  # ContractedUnitPrice = ListUnitPrice * (1 - this)
    invoice_prefix: str
    tax_description: str


@dataclass(frozen=True)
class SubAccount:
    billing_account: str
    id: str
    name: str
    type: str
    env: str
    regions: tuple[str, ...]  # home region first; resources land there most of the time
    weight: float


@dataclass(frozen=True)
class Service:
    provider: str
    name: str
    category: str
    subcategory: str


@dataclass(frozen=True)
class Sku:
    service: str
    id: str
    meter: str
    description: str
    pricing_unit: str
    consumed_unit: str
    consumed_per_pricing_unit: Decimal
    list_price_usd: Decimal
    qty_range: tuple[float, float]  # PricingQuantity per row
    hourly: bool  # hourly charge periods, else daily
    resource_type: str
    resource_id: str  # str.format template: {sub} {region} {zone} {name} {app} {env} {hex}
    resources_per_sub_account: int
    spend_share: float  # relative share of the provider's spend; row counts follow from it and the row cost
    committable: bool = False
    spot: bool = False
    regional: bool = True
    zonal: bool = False
    resource_pool: str = ""  # SKUs sharing a pool bill the same resources (e.g. Lambda duration and requests)
    price_details: tuple[tuple[str, str | int], ...] = ()


@dataclass(frozen=True)
class Commitment:
    """A reservation, savings plan or CUD: bought in one sub account, applied to one service's usage."""

    billing_account: str
    sub_account: str
    region: str | None  # None: not regional (savings plans, spend-based commitments)
    id: str
    name: str
    type: str
    category: str  # Usage | Spend
    service: str
    discount: Decimal  # EffectiveCost = ContractedCost * (1 - discount) on covered usage


AWS, MICROSOFT, GOOGLE = "AWS", "Microsoft", "Google Cloud"

PROVIDERS: dict[str, Provider] = {
    AWS: Provider(
        AWS, "Amazon Web Services, Inc.", "Amazon Web Services, Inc.",
        {"us-east-1": "US East (N. Virginia)", "us-west-2": "US West (Oregon)", "eu-west-1": "Europe (Ireland)",
         "eu-central-1": "Europe (Frankfurt)", "ap-southeast-1": "Asia Pacific (Singapore)"},
        ("a", "b", "c"), "AWS Promotional Credit",
    ),
    MICROSOFT: Provider(
        MICROSOFT, "Microsoft", "Microsoft",
        {"eastus": "East US", "westus2": "West US 2", "westeurope": "West Europe", "northeurope": "North Europe",
         "germanywestcentral": "Germany West Central"},
        (), "Azure credit offer",
    ),
    GOOGLE: Provider(
        GOOGLE, "Google Cloud", "Google Cloud",
        {"us-central1": "Iowa", "us-east1": "South Carolina", "europe-west1": "Belgium", "europe-west4": "Netherlands",
         "asia-southeast1": "Singapore"},
        ("-a", "-b", "-c"), "Free Trial credit",
    ),
}

_MCA = ("/providers/Microsoft.Billing/billingAccounts/"
        "5e98e158-2c4d-4a7b-9c1e-6d0a3f2b7c11:0b1c4d2e-8f3a-4e5b-a6c7-d8e9f0a1b2c3_2019-05-31")

BILLING_ACCOUNTS: tuple[BillingAccount, ...] = (
    BillingAccount(AWS, "111122223333", "Acme Corp", "Management Account", "USD", Decimal(1), Decimal("0.05"),
                   "EUINUS26-", "US sales tax"),
    BillingAccount(AWS, "777788889999", "Acme Labs", "Management Account", "USD", Decimal(1), Decimal(0),
                   "EUINUS27-", "US sales tax"),
    BillingAccount(MICROSOFT, f"{_MCA}/billingProfiles/ACME-US1-BG7-PGB", "Acme Corp US", "Billing Profile", "USD",
                   Decimal(1), Decimal("0.10"), "G0", "Sales tax"),
    BillingAccount(MICROSOFT, f"{_MCA}/billingProfiles/ACME-EU1-KD4-PGB", "Acme Europe GmbH", "Billing Profile", "EUR",
                   Decimal("0.92"), Decimal("0.08"), "E0", "VAT 19%"),
    BillingAccount(GOOGLE, "01A2B3-C4D5E6-F7A8B9", "Acme Corp GCP", "Billing Account", "USD", Decimal(1),
                   Decimal("0.03"), "5", "Sales tax"),
)

SUB_ACCOUNTS: tuple[SubAccount, ...] = (
    SubAccount("111122223333", "210987654321", "acme-prod", "Member Account", "prod", ("us-east-1", "us-west-2"), 3.0),
    SubAccount("111122223333", "345678901234", "acme-staging", "Member Account", "staging", ("us-east-1",), 1.0),
    SubAccount("111122223333", "456789012345", "acme-data", "Member Account", "prod", ("us-east-1", "eu-west-1"), 2.0),
    SubAccount("111122223333", "567890123456", "acme-sandbox", "Member Account", "dev", ("us-west-2",), 0.5),
    SubAccount("777788889999", "778899001122", "labs-research", "Member Account", "dev", ("eu-central-1",), 0.8),
    SubAccount("777788889999", "889900112233", "labs-ml", "Member Account", "prod", ("us-west-2", "ap-southeast-1"),
               1.2),
    SubAccount(BILLING_ACCOUNTS[2].id, "/subscriptions/3f2a7c1e-5b9d-4e8f-a0c2-1d3e5f7a9b0c", "acme-prod-eastus",
               "Subscription", "prod", ("eastus", "westus2"), 2.0),
    SubAccount(BILLING_ACCOUNTS[2].id, "/subscriptions/8b4d6f0a-2c1e-4a3b-9d5f-7e6c8a0b2d4f", "acme-dev",
               "Subscription", "dev", ("eastus",), 0.7),
    SubAccount(BILLING_ACCOUNTS[3].id, "/subscriptions/c7e9a1b3-d5f7-4092-b4d6-f8a0c2e4a6b8", "acme-eu-prod",
               "Subscription", "prod", ("westeurope", "germanywestcentral"), 1.5),
    SubAccount(BILLING_ACCOUNTS[3].id, "/subscriptions/1a3c5e7f-9b2d-4f60-8a1c-3e5f7b9d1f2a", "acme-eu-dev",
               "Subscription", "staging", ("northeurope",), 0.5),
    SubAccount("01A2B3-C4D5E6-F7A8B9", "acme-prod-381204", "acme-prod", "Project", "prod",
               ("us-central1", "us-east1"), 1.8),
    SubAccount("01A2B3-C4D5E6-F7A8B9", "acme-analytics-220931", "acme-analytics", "Project", "prod",
               ("us-central1", "europe-west4"), 1.2),
    SubAccount("01A2B3-C4D5E6-F7A8B9", "acme-dev-119283", "acme-dev", "Project", "dev", ("europe-west1",), 0.5),
)

SERVICES: tuple[Service, ...] = (
    Service(AWS, "Amazon Elastic Compute Cloud", "Compute", "Virtual Machines"),
    Service(AWS, "Amazon Simple Storage Service", "Storage", "Object Storage"),
    Service(AWS, "Amazon Relational Database Service", "Databases", "Relational Databases"),
    Service(AWS, "AWS Lambda", "Compute", "Serverless Compute"),
    Service(AWS, "Amazon CloudFront", "Networking", "Content Delivery"),
    Service(AWS, "Amazon DynamoDB", "Databases", "NoSQL Databases"),
    Service(AWS, "Amazon CloudWatch", "Management and Governance", "Observability"),
    Service(AWS, "Amazon Elastic Kubernetes Service", "Compute", "Containers"),
    Service(AWS, "Amazon Bedrock", "AI and Machine Learning", "Generative AI"),
    Service(MICROSOFT, "Virtual Machines", "Compute", "Virtual Machines"),
    Service(MICROSOFT, "Storage Accounts", "Storage", "Storage Platforms"),
    Service(MICROSOFT, "Azure SQL Database", "Databases", "Relational Databases"),
    Service(MICROSOFT, "Azure Kubernetes Service", "Compute", "Containers"),
    Service(MICROSOFT, "Cosmos DB", "Databases", "NoSQL Databases"),
    Service(MICROSOFT, "Functions", "Compute", "Serverless Compute"),
    Service(MICROSOFT, "Azure Monitor", "Management and Governance", "Observability"),
    Service(MICROSOFT, "Azure Front Door", "Networking", "Content Delivery"),
    Service(GOOGLE, "Compute Engine", "Compute", "Virtual Machines"),
    Service(GOOGLE, "Cloud Storage", "Storage", "Object Storage"),
    Service(GOOGLE, "BigQuery", "Databases", "Data Warehouses"),
    Service(GOOGLE, "Cloud SQL", "Databases", "Relational Databases"),
    Service(GOOGLE, "Kubernetes Engine", "Compute", "Containers"),
    Service(GOOGLE, "Cloud Run", "Compute", "Serverless Compute"),
    Service(GOOGLE, "Vertex AI", "AI and Machine Learning", "AI Platforms"),
    Service(GOOGLE, "Cloud Logging", "Management and Governance", "Observability"),
)

_D = Decimal
_EC2 = "arn:aws:ec2:{region}:{sub}:instance/i-{hex}"
_AZ_RG = "{sub}/resourceGroups/rg-{app}-{env}/providers/"
_GCE = "//compute.googleapis.com/projects/{sub}/zones/{zone}/instances/{name}"

SKUS: tuple[Sku, ...] = (
    # AWS
    Sku("Amazon Elastic Compute Cloud", "8VCNEHQMSCQS4P39", "Compute",
        "$0.096 per On Demand Linux m5.large Instance Hour",
        "Hours", "Hours", _D(1), _D("0.096"), (0.5, 1.0), True, "Instance", _EC2, 12, 18, committable=True, spot=True,
        zonal=True, price_details=(("InstanceType", "m5.large"), ("OperatingSystem", "Linux"), ("CoreCount", 2))),
    Sku("Amazon Elastic Compute Cloud", "3DG6WFZ5QW4JAAHJ", "Compute",
        "$0.136 per On Demand Linux c6g.xlarge Instance Hour",
        "Hours", "Hours", _D(1), _D("0.136"), (0.5, 1.0), True, "Instance", _EC2, 8, 12, committable=True, spot=True,
        zonal=True, price_details=(("InstanceType", "c6g.xlarge"), ("OperatingSystem", "Linux"), ("CoreCount", 4))),
    Sku("Amazon Elastic Compute Cloud", "RHAN3QF2XHB7CUB8", "Compute",
        "$0.504 per On Demand Linux r6i.2xlarge Instance Hour",
        "Hours", "Hours", _D(1), _D("0.504"), (0.5, 1.0), True, "Instance", _EC2, 4, 10, committable=True, zonal=True,
        price_details=(("InstanceType", "r6i.2xlarge"), ("OperatingSystem", "Linux"), ("CoreCount", 8))),
    Sku("Amazon Simple Storage Service", "WP9ANXZGBYYSGJEA", "Storage",
        "$0.023 per GB - first 50 TB / month of storage used",
        "GB-Months", "GB-Months", _D(1), _D("0.023"), (0.5, 40.0), False, "Bucket", "arn:aws:s3:::{name}-{hex}", 6, 8,
        price_details=(("StorageClass", "Standard"),)),
    Sku("Amazon Simple Storage Service", "QCD4UDM4XXCF5KNX", "Requests",
        "$0.005 per 1,000 PUT, COPY, POST, or LIST requests",
        "1000 Requests", "Requests", _D(1000), _D("0.005"), (0.01, 20.0), True, "Bucket", "arn:aws:s3:::{name}-{hex}",
        6, 2, resource_pool="WP9ANXZGBYYSGJEA", price_details=(("OperationClass", "Tier1"),)),
    Sku("Amazon Relational Database Service", "QKKSJ3CT7Z9KVBC9", "Database Instance",
        "$0.225 per RDS db.r6g.large Single-AZ instance hour running PostgreSQL", "Hours", "Hours", _D(1), _D("0.225"),
        (0.5, 1.0), True, "DB Instance", "arn:aws:rds:{region}:{sub}:db:{name}", 3, 12, committable=True, zonal=True,
        price_details=(("InstanceType", "db.r6g.large"), ("DatabaseEngine", "PostgreSQL"))),
    Sku("AWS Lambda", "TG3M4CAGBA3NYQBH", "Serverless", "AWS Lambda - Total Compute - US East (Northern Virginia)",
        "GB-Seconds", "GB-Seconds", _D(1), _D("0.0000166667"), (10.0, 8000.0), True, "Function",
        "arn:aws:lambda:{region}:{sub}:function:{name}", 15, 4),
    Sku("AWS Lambda", "V3GQ5ZZTMMHEKGNX", "Serverless", "AWS Lambda - Total Requests - US East (Northern Virginia)",
        "1000000 Requests", "Requests", _D(1000000), _D("0.20"), (0.001, 0.5), True, "Function",
        "arn:aws:lambda:{region}:{sub}:function:{name}", 15, 1, resource_pool="TG3M4CAGBA3NYQBH"),
    Sku("Amazon CloudFront", "H3MHFT2XJF9PZKZW", "Data Transfer",
        "$0.085 per GB - first 10 TB / month data transfer out",
        "GB", "GB", _D(1), _D("0.085"), (0.05, 10.0), True, "Distribution",
        "arn:aws:cloudfront::{sub}:distribution/E{hex}", 2, 5, regional=False),
    Sku("Amazon DynamoDB", "R6PXMNYCEDGZ2EYN", "Amazon DynamoDB PayPerRequest Throughput",
        "$1.25 per million write request units", "1000000 Requests", "WriteRequestUnits", _D(1000000), _D("1.25"),
        (0.005, 0.4), True, "Table", "arn:aws:dynamodb:{region}:{sub}:table/{name}", 6, 5),
    Sku("Amazon CloudWatch", "K6Z8NMTRPF7N9QZV", "Data Payload", "$0.50 per GB custom log data ingested",
        "GB", "GB", _D(1), _D("0.50"), (0.01, 2.0), True, "Log Group",
        "arn:aws:logs:{region}:{sub}:log-group:/aws/{name}", 10, 4),
    Sku("Amazon Elastic Kubernetes Service", "8ZCCFWGY4PFD6U6R", "Compute", "$0.10 per hour per Amazon EKS cluster",
        "Hours", "Hours", _D(1), _D("0.10"), (0.9, 1.0), True, "Cluster", "arn:aws:eks:{region}:{sub}:cluster/{name}",
        2, 2),
    Sku("Amazon Bedrock", "2RDWD7BMPJZXXVK4", "Input Tokens", "Anthropic Claude input tokens", "1000 Tokens", "Tokens",
        _D(1000), _D("0.003"), (1.0, 400.0), True, "Foundation Model",
        "arn:aws:bedrock:{region}:{sub}:inference-profile/{name}", 3, 6),
    # Microsoft
    Sku("Virtual Machines", "DZH318Z0BQ4N/0058", "D2s v5", "D2s v5 - Linux", "Hours", "Hours", _D(1), _D("0.096"),
        (0.5, 1.0), True, "Virtual machine", _AZ_RG + "Microsoft.Compute/virtualMachines/{name}", 10, 20,
        committable=True, spot=True, price_details=(("InstanceType", "Standard_D2s_v5"), ("CoreCount", 2))),
    Sku("Virtual Machines", "DZH318Z0BQ4N/005B", "D4s v5", "D4s v5 - Linux", "Hours", "Hours", _D(1), _D("0.192"),
        (0.5, 1.0), True, "Virtual machine", _AZ_RG + "Microsoft.Compute/virtualMachines/{name}", 6, 15,
        committable=True, spot=True, price_details=(("InstanceType", "Standard_D4s_v5"), ("CoreCount", 4))),
    Sku("Virtual Machines", "DZH318Z0BQ9B/00F2", "E8s v5", "E8s v5 - Linux", "Hours", "Hours", _D(1), _D("0.504"),
        (0.5, 1.0), True, "Virtual machine", _AZ_RG + "Microsoft.Compute/virtualMachines/{name}", 3, 10,
        committable=True, price_details=(("InstanceType", "Standard_E8s_v5"), ("CoreCount", 8))),
    Sku("Storage Accounts", "DZH318Z0BNVX/003C", "Hot LRS Data Stored", "Blob Storage Hot LRS Data Stored",
        "GB-Months", "GB-Months", _D(1), _D("0.0184"), (0.5, 40.0), False, "Storage account",
        _AZ_RG + "Microsoft.Storage/storageAccounts/st{hex}", 5, 10,
        price_details=(("StorageClass", "Hot"), ("Redundancy", "LRS"))),
    Sku("Azure SQL Database", "DZH318Z0BQ5S/0057", "vCore", "SQL Database General Purpose - Compute Gen5 vCore",
        "Hours", "Hours", _D(1), _D("0.2522"), (1.0, 4.0), True, "SQL database",
        _AZ_RG + "Microsoft.Sql/servers/sql-{hex}/databases/{name}", 3, 14),
    Sku("Azure Kubernetes Service", "DZH318Z08M22/0030", "Uptime SLA", "Standard Uptime SLA - Cluster Hours",
        "Hours", "Hours", _D(1), _D("0.10"), (0.9, 1.0), True, "Kubernetes service",
        _AZ_RG + "Microsoft.ContainerService/managedClusters/{name}", 2, 2),
    Sku("Cosmos DB", "DZH318Z0BPTB/0003", "100 RU/s", "Azure Cosmos DB - 100 RU/s provisioned throughput",
        "Hours", "Hours", _D(1), _D("0.008"), (4.0, 100.0), True, "Cosmos DB account",
        _AZ_RG + "Microsoft.DocumentDB/databaseAccounts/cosmos-{name}", 3, 8),
    Sku("Functions", "DZH318Z0BQ2H/0007", "Execution Time", "Functions - Execution Time (GB-s)", "GB-Seconds",
        "GB-Seconds", _D(1), _D("0.000016"), (100.0, 40000.0), True, "Function App",
        _AZ_RG + "Microsoft.Web/sites/func-{name}", 8, 5),
    Sku("Azure Monitor", "DZH318Z0BPKW/0013", "Analytics Logs Data Ingestion",
        "Log Analytics - Pay-as-you-go Data Ingestion", "GB", "GB", _D(1), _D("2.30"), (0.01, 0.5), True,
        "Log Analytics workspace", _AZ_RG + "Microsoft.OperationalInsights/workspaces/log-{name}", 2, 6),
    Sku("Azure Front Door", "DZH318Z0BQ7P/0001", "Data Transfer Out", "Front Door Standard - Data Transfer Out",
        "GB", "GB", _D(1), _D("0.083"), (0.05, 10.0), True, "Front Door profile",
        _AZ_RG + "Microsoft.Cdn/profiles/afd-{name}", 1, 5, regional=False),
    # Google Cloud
    Sku("Compute Engine", "A1B2-C3D4-E5F6", "N2 Instance", "N2 Instance running: n2-standard-4", "Hours", "Hours",
        _D(1), _D("0.194236"), (0.5, 1.0), True, "Instance", _GCE, 10, 22, committable=True, spot=True, zonal=True,
        price_details=(("InstanceType", "n2-standard-4"), ("CoreCount", 4))),
    Sku("Compute Engine", "B7C8-D9E0-F1A2", "E2 Instance", "E2 Instance running: e2-medium", "Hours", "Hours", _D(1),
        _D("0.033503"), (0.5, 1.0), True, "Instance", _GCE, 12, 8, committable=True, spot=True, zonal=True,
        price_details=(("InstanceType", "e2-medium"), ("CoreCount", 1))),
    Sku("Cloud Storage", "E5F6-0A1B-2C3D", "Standard Storage", "Standard Storage US Multi-region", "GB-Months",
        "GB-Months", _D(1), _D("0.026"), (0.5, 40.0), False, "Bucket",
        "//storage.googleapis.com/projects/_/buckets/{name}-{hex}", 5, 10,
        price_details=(("StorageClass", "Standard"),)),
    Sku("BigQuery", "3362-E469-6BEF", "Analysis", "Analysis (on-demand)", "TB", "TB", _D(1), _D("6.25"),
        (0.001, 0.1), True, "Dataset", "//bigquery.googleapis.com/projects/{sub}/datasets/{name}", 4, 15),
    Sku("Cloud SQL", "9F2E-1C3A-7B4D", "vCPU", "Cloud SQL for PostgreSQL: Zonal - vCPU", "vCPU-Hours", "vCPU-Hours",
        _D(1), _D("0.0413"), (2.0, 16.0), True, "Cloud SQL instance",
        "//cloudsql.googleapis.com/projects/{sub}/instances/{name}", 3, 10, committable=True, zonal=True),
    Sku("Kubernetes Engine", "B561-BFBD-1264", "Cluster Management", "Regional Kubernetes Clusters", "Hours", "Hours",
        _D(1), _D("0.10"), (0.9, 1.0), True, "Cluster",
        "//container.googleapis.com/projects/{sub}/locations/{region}/clusters/{name}", 2, 3),
    Sku("Cloud Run", "D3A1-6B2C-8E9F", "CPU Allocation Time", "CPU Allocation Time (tier 1)", "vCPU-Seconds",
        "vCPU-Seconds", _D(1), _D("0.000024"), (100.0, 20000.0), True, "Service",
        "//run.googleapis.com/projects/{sub}/locations/{region}/services/{name}", 8, 6),
    Sku("Vertex AI", "7C4B-0F1E-2A3D", "Gemini Input Tokens", "Gemini 2.5 Flash input tokens", "1000 Tokens",
        "Tokens", _D(1000), _D("0.0003"), (10.0, 2000.0), True, "Endpoint",
        "//aiplatform.googleapis.com/projects/{sub}/locations/{region}/endpoints/{hex}", 2, 6),
    Sku("Cloud Logging", "143F-A1B0-E0BE", "Log Volume", "Log Storage cost", "GB", "GB", _D(1), _D("0.50"),
        (0.01, 1.0), True, "Log bucket", "//logging.googleapis.com/projects/{sub}/locations/global/buckets/{name}",
        2, 4),
)

_AZ_US, _AZ_EU = BILLING_ACCOUNTS[2].id, BILLING_ACCOUNTS[3].id
COMMITMENTS: tuple[Commitment, ...] = (
    Commitment("111122223333", "210987654321", "us-east-1",
               "arn:aws:ec2:us-east-1:210987654321:reserved-instances/4f1c2a9e-3b7d-4c1e-9a2f-5d8e6b0c1a3f",
               "m5.large Linux RI 1yr No Upfront", "Reserved Instance", "Usage", "Amazon Elastic Compute Cloud",
               _D("0.36")),
    Commitment("111122223333", "210987654321", None,
               "arn:aws:savingsplans::210987654321:savingsplan/7d2b9c4e-1a3f-4b5d-8e6c-0f2a4c6e8b1d",
               "EC2 Instance Savings Plan 3yr", "Savings Plan", "Spend", "Amazon Elastic Compute Cloud", _D("0.27")),
    Commitment("111122223333", "456789012345", "us-east-1",
               "arn:aws:rds:us-east-1:456789012345:ri:acme-postgres-ri-2026", "db.r6g.large PostgreSQL RI 1yr",
               "Reserved Instance", "Usage", "Amazon Relational Database Service", _D("0.31")),
    Commitment(_AZ_US, "/subscriptions/3f2a7c1e-5b9d-4e8f-a0c2-1d3e5f7a9b0c", "eastus",
               "/providers/Microsoft.Capacity/reservationOrders/9e1d3c5b-7a2f-4e6d-8c0b-2a4f6e8d0c1b"
               "/reservations/b3d5f7a9-1c2e-4f6a-8b0d-2e4c6a8f0b1d", "Dsv5 reservation eastus 1yr", "Reservation",
               "Usage", "Virtual Machines", _D("0.40")),
    Commitment(_AZ_EU, "/subscriptions/c7e9a1b3-d5f7-4092-b4d6-f8a0c2e4a6b8", None,
               "/providers/Microsoft.BillingBenefits/savingsPlanOrders/0c2e4a6b-8d1f-4a3c-9e5b-7f1d3b5a7c9e"
               "/savingsPlans/5a7c9e1b-3d5f-4b2a-8c6e-0a2c4e6f8b0d", "Compute savings plan EU 3yr", "Savings Plan",
               "Spend", "Virtual Machines", _D("0.30")),
    Commitment("01A2B3-C4D5E6-F7A8B9", "acme-prod-381204", "us-central1",
               "projects/acme-prod-381204/regions/us-central1/commitments/cud-n2-3yr", "n2 resource-based CUD 3yr",
               "Committed Use Discount", "Usage", "Compute Engine", _D("0.46")),
    Commitment("01A2B3-C4D5E6-F7A8B9", "acme-prod-381204", None,
               "billingAccounts/01A2B3-C4D5E6-F7A8B9/commitments/cloudsql-spend-1yr", "Cloud SQL spend-based CUD 1yr",
               "Spend-based Committed Use Discount", "Spend", "Cloud SQL", _D("0.25")),
)

# Tag vocabulary. Key variants are deliberate: a tag-cleaning feature is expected to merge them.
APPS: dict[str, str] = {  # app -> owning team
    "checkout": "payments", "billing": "payments", "search": "discovery", "catalog": "discovery",
    "recommendations": "ml", "analytics": "data", "auth": "platform", "mobile-api": "mobile",
}
COST_CENTERS: dict[str, str] = {
    "payments": "CC-1010", "discovery": "CC-1020", "ml": "CC-1030", "data": "CC-1040", "platform": "CC-1050",
    "mobile": "CC-1060",
}
TEAM_KEYS: tuple[tuple[str, float], ...] = (("team", 0.85), ("Team", 0.15))
ENV_KEYS: tuple[tuple[str, float], ...] = (("env", 0.7), ("environment", 0.2), ("Env", 0.1))
COST_CENTER_KEYS: tuple[tuple[str, float], ...] = (("cost-center", 0.8), ("costcenter", 0.2))
UNTAGGED_SHARE = 0.1

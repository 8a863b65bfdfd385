# Rendered by moai-deploy from moai-deploy.yaml; edit the spec, not this file.
terraform {
  required_version = ">= 1.5"
  required_providers {
    google = { source = "hashicorp/google", version = "~> 6.0" }
  }
}

variable "project_id" {
  type    = string
  default = "acme-shop"
}

variable "region" {
  type    = string
  default = "us-central1"
}

variable "image_tag" {
  description = "Release version (the image tag)."
  type        = string
  default     = "1.4.0"
}

provider "google" {
  project = var.project_id
  region  = var.region
}

resource "google_service_account" "service" {
  account_id   = "shop-production"
  display_name = "shop (production)"
}

data "google_secret_manager_secret" "database_url" {
  secret_id = "shop-production-DATABASE_URL"
}

resource "google_secret_manager_secret_iam_member" "database_url" {
  secret_id = data.google_secret_manager_secret.database_url.id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.service.email}"
}

data "google_secret_manager_secret" "secret_key" {
  secret_id = "shop-production-SECRET_KEY"
}

resource "google_secret_manager_secret_iam_member" "secret_key" {
  secret_id = data.google_secret_manager_secret.secret_key.id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.service.email}"
}

resource "google_cloud_run_v2_service" "service" {
  name     = "shop-production"
  location = var.region
  ingress  = "INGRESS_TRAFFIC_ALL"
  template {
    service_account                  = google_service_account.service.email
    max_instance_request_concurrency = 80
    timeout                          = "300s"
    scaling {
      min_instance_count = 3
      max_instance_count = 12
    }
    containers {
      image   = "registry.example.com/acme/shop:${var.image_tag}"
      command = ["gunicorn"]
      args    = ["shop.wsgi:app", "--bind", "0.0.0.0:8080", "--workers", "2"]
      ports { container_port = 8080 }
      resources {
        limits = { cpu = "2", memory = "2Gi" }
      }
      startup_probe {
        http_get { path = "/health" }
        period_seconds    = 10
        failure_threshold = 60
      }
      liveness_probe {
        http_get { path = "/health" }
        period_seconds = 10
      }
      env {
        name  = "LOG_LEVEL"
        value = "WARNING"
      }
      env {
        name  = "PRICE_TEMPLATE"
        value = "cost: $(amount) $USD"
      }
      env {
        name = "DATABASE_URL"
        value_source {
          secret_key_ref {
            secret  = data.google_secret_manager_secret.database_url.secret_id
            version = "latest"
          }
        }
      }
      env {
        name = "SECRET_KEY"
        value_source {
          secret_key_ref {
            secret  = data.google_secret_manager_secret.secret_key.secret_id
            version = "latest"
          }
        }
      }
    }
  }
  traffic {
    type    = "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST"
    percent = 100
  }
  depends_on = [google_secret_manager_secret_iam_member.database_url, google_secret_manager_secret_iam_member.secret_key]
}

resource "google_cloud_run_v2_service_iam_member" "public" {
  name     = google_cloud_run_v2_service.service.name
  location = google_cloud_run_v2_service.service.location
  role     = "roles/run.invoker"
  member   = "allUsers"
}

output "service_url" {
  value = google_cloud_run_v2_service.service.uri
}

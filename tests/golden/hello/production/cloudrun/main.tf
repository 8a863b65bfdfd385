# Rendered by moai-deploy from moai-deploy.yaml; edit the spec, not this file.
terraform {
  required_version = ">= 1.5"
  required_providers {
    google = { source = "hashicorp/google", version = "~> 6.0" }
  }
}

variable "project_id" {
  type    = string
  default = "moai-hello"
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
  account_id   = "hello-production"
  display_name = "hello (production)"
}

resource "google_cloud_run_v2_service" "service" {
  name     = "hello-production"
  location = var.region
  ingress  = "INGRESS_TRAFFIC_ALL"
  template {
    service_account                  = google_service_account.service.email
    max_instance_request_concurrency = 80
    timeout                          = "300s"
    scaling {
      min_instance_count = 3
      max_instance_count = 10
    }
    containers {
      image   = "ghcr.io/moai-adk/hello:${var.image_tag}"
      command = ["python"]
      args    = ["-m", "uvicorn", "app.main:app", "--host", "0.0.0.0", "--port", "8000", "--timeout-graceful-shutdown", "10"]
      ports { container_port = 8000 }
      resources {
        limits = { cpu = "1", memory = "512Mi" }
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
    }
  }
  traffic {
    type    = "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST"
    percent = 100
  }
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

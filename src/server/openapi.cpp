// The OpenAPI 3.0 description of `morsel serve`, served at /openapi.json. Keep it in step with
// api.cpp's routes and docs/server-api.md.
#include "server/api.h"

namespace morsel::server {

const char* openapi_json() {
  return R"JSON({
  "openapi": "3.0.3",
  "info": {
    "title": "morsel serve",
    "version": "0.1.0",
    "description": "Image classification over HTTP: the KServe V2 / Open Inference Protocol plus a simple classify endpoint. Every error is {\"error\": {\"code\", \"message\"}}."
  },
  "components": {
    "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
    "parameters": {
      "name": {"name": "name", "in": "path", "required": true, "schema": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"}},
      "version": {"name": "version", "in": "path", "required": true, "schema": {"type": "string", "pattern": "^[1-9][0-9]*$"}},
      "top_k": {"name": "top_k", "in": "query", "required": false, "schema": {"type": "integer", "minimum": 1, "default": 5}},
      "request_id": {"name": "X-Request-ID", "in": "header", "required": false, "schema": {"type": "string", "maxLength": 128}}
    },
    "schemas": {
      "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "object", "required": ["code", "message"], "properties": {"code": {"type": "string", "example": "payload_too_large"}, "message": {"type": "string"}}}}},
      "Prediction": {"type": "object", "properties": {"label": {"type": "string"}, "index": {"type": "integer"}, "score": {"type": "number"}}},
      "ClassifyResponse": {"type": "object", "properties": {
        "model": {"type": "string"}, "version": {"type": "string"}, "id": {"type": "string"},
        "predictions": {"type": "array", "items": {"$ref": "#/components/schemas/Prediction"}},
        "timings_ms": {"type": "object", "properties": {"queue": {"type": "number"}, "decode": {"type": "number"}, "preprocess": {"type": "number"}, "inference": {"type": "number"}, "total": {"type": "number"}}},
        "batch_size": {"type": "integer"}}},
      "Tensor": {"type": "object", "required": ["name", "shape", "datatype"], "properties": {
        "name": {"type": "string"}, "shape": {"type": "array", "items": {"type": "integer"}},
        "datatype": {"type": "string", "enum": ["FP32", "UINT8", "BYTES"]},
        "parameters": {"type": "object", "properties": {"binary_data_size": {"type": "integer"}}},
        "data": {"type": "array", "items": {}}}},
      "InferRequest": {"type": "object", "required": ["inputs"], "properties": {
        "id": {"type": "string"},
        "parameters": {"type": "object", "properties": {"binary_data_output": {"type": "boolean"}}},
        "inputs": {"type": "array", "items": {"$ref": "#/components/schemas/Tensor"}, "minItems": 1, "maxItems": 1},
        "outputs": {"type": "array", "items": {"type": "object", "properties": {"name": {"type": "string"}, "parameters": {"type": "object", "properties": {"classification": {"type": "integer", "minimum": 1}, "binary_data": {"type": "boolean"}}}}}}}},
      "InferResponse": {"type": "object", "properties": {"model_name": {"type": "string"}, "model_version": {"type": "string"}, "id": {"type": "string"}, "outputs": {"type": "array", "items": {"$ref": "#/components/schemas/Tensor"}}}},
      "ModelMetadata": {"type": "object", "properties": {"name": {"type": "string"}, "versions": {"type": "array", "items": {"type": "string"}}, "platform": {"type": "string"}, "inputs": {"type": "array", "items": {"$ref": "#/components/schemas/Tensor"}}, "outputs": {"type": "array", "items": {"$ref": "#/components/schemas/Tensor"}}}},
      "ModelList": {"type": "object", "properties": {"default_model": {"type": "string"}, "ready": {"type": "boolean"}, "models": {"type": "array", "items": {"type": "object", "properties": {
        "name": {"type": "string"}, "version": {"type": "string"}, "versions": {"type": "array", "items": {"type": "string"}},
        "labels": {"type": "array", "items": {"type": "string"}}, "num_classes": {"type": "integer"}, "size_bytes": {"type": "integer"},
        "input": {"type": "object"}, "preprocess": {"type": "object"}, "url": {"type": "string"}, "etag": {"type": "string"}}}}}}
    },
    "responses": {
      "Error": {"description": "An error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    }
  },
  "security": [{"bearer": []}],
  "paths": {
    "/v2/health/live": {"get": {"summary": "Liveness", "security": [], "responses": {"200": {"description": "The process is up"}}}},
    "/v2/health/ready": {"get": {"summary": "Readiness: every model loaded and warmed up, not draining", "security": [], "responses": {"200": {"description": "Ready"}, "503": {"$ref": "#/components/responses/Error"}}}},
    "/v2": {"get": {"summary": "Server metadata", "responses": {"200": {"description": "name, version, extensions"}}}},
    "/v2/models/{name}": {"get": {"summary": "Model metadata (newest version)", "parameters": [{"$ref": "#/components/parameters/name"}], "responses": {"200": {"description": "Metadata", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ModelMetadata"}}}}, "404": {"$ref": "#/components/responses/Error"}}}},
    "/v2/models/{name}/versions/{version}": {"get": {"summary": "Model metadata", "parameters": [{"$ref": "#/components/parameters/name"}, {"$ref": "#/components/parameters/version"}], "responses": {"200": {"description": "Metadata", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ModelMetadata"}}}}, "404": {"$ref": "#/components/responses/Error"}}}},
    "/v2/models/{name}/ready": {"get": {"summary": "Model readiness", "parameters": [{"$ref": "#/components/parameters/name"}], "responses": {"200": {"description": "Ready"}, "404": {"$ref": "#/components/responses/Error"}}}},
    "/v2/models/{name}/versions/{version}/ready": {"get": {"summary": "Model version readiness", "parameters": [{"$ref": "#/components/parameters/name"}, {"$ref": "#/components/parameters/version"}], "responses": {"200": {"description": "Ready"}, "404": {"$ref": "#/components/responses/Error"}}}},
    "/v2/models/{name}/infer": {"post": {"summary": "Inference (Open Inference Protocol), JSON or binary tensors", "parameters": [{"$ref": "#/components/parameters/name"}, {"name": "Inference-Header-Content-Length", "in": "header", "schema": {"type": "integer"}}],
      "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/InferRequest"}}, "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}},
      "responses": {"200": {"description": "Outputs", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/InferResponse"}}}}, "400": {"$ref": "#/components/responses/Error"}, "404": {"$ref": "#/components/responses/Error"}, "413": {"$ref": "#/components/responses/Error"}, "429": {"$ref": "#/components/responses/Error"}, "504": {"$ref": "#/components/responses/Error"}}}},
    "/v2/models/{name}/versions/{version}/infer": {"post": {"summary": "Inference on one version", "parameters": [{"$ref": "#/components/parameters/name"}, {"$ref": "#/components/parameters/version"}],
      "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/InferRequest"}}}},
      "responses": {"200": {"description": "Outputs", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/InferResponse"}}}}, "404": {"$ref": "#/components/responses/Error"}}}},
    "/v1/models/{name}:classify": {"post": {"summary": "Classify one image (raw bytes or multipart field 'file')", "parameters": [{"$ref": "#/components/parameters/name"}, {"$ref": "#/components/parameters/top_k"}, {"$ref": "#/components/parameters/request_id"}],
      "requestBody": {"required": true, "content": {"image/jpeg": {"schema": {"type": "string", "format": "binary"}}, "image/png": {"schema": {"type": "string", "format": "binary"}}, "image/webp": {"schema": {"type": "string", "format": "binary"}}, "multipart/form-data": {"schema": {"type": "object", "properties": {"file": {"type": "string", "format": "binary"}}}}}},
      "responses": {"200": {"description": "Top-k predictions", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ClassifyResponse"}}}}, "400": {"$ref": "#/components/responses/Error"}, "404": {"$ref": "#/components/responses/Error"}, "411": {"$ref": "#/components/responses/Error"}, "413": {"$ref": "#/components/responses/Error"}, "415": {"$ref": "#/components/responses/Error"}, "422": {"$ref": "#/components/responses/Error"}, "429": {"$ref": "#/components/responses/Error"}, "503": {"$ref": "#/components/responses/Error"}, "504": {"$ref": "#/components/responses/Error"}}}},
    "/v1/models/{name}/versions/{version}:classify": {"post": {"summary": "Classify with one version", "parameters": [{"$ref": "#/components/parameters/name"}, {"$ref": "#/components/parameters/version"}, {"$ref": "#/components/parameters/top_k"}],
      "requestBody": {"required": true, "content": {"image/jpeg": {"schema": {"type": "string", "format": "binary"}}}},
      "responses": {"200": {"description": "Top-k predictions", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ClassifyResponse"}}}}}}},
    "/api/classify": {"post": {"summary": "Classify with the default model", "parameters": [{"$ref": "#/components/parameters/top_k"}],
      "requestBody": {"required": true, "content": {"image/jpeg": {"schema": {"type": "string", "format": "binary"}}, "multipart/form-data": {"schema": {"type": "object", "properties": {"file": {"type": "string", "format": "binary"}}}}}},
      "responses": {"200": {"description": "Top-k predictions", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ClassifyResponse"}}}}}}},
    "/api/models": {"get": {"summary": "Models with labels, size and preprocessing", "responses": {"200": {"description": "Models", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ModelList"}}}}}}},
    "/v1/models/{name}/model.morsel": {"get": {"summary": "Download the newest .morsel file (ETag, Range)", "parameters": [{"$ref": "#/components/parameters/name"}], "responses": {"200": {"description": "The file"}, "206": {"description": "A byte range"}, "304": {"description": "Not modified"}, "416": {"$ref": "#/components/responses/Error"}}}},
    "/v1/models/{name}/versions/{version}/model.morsel": {"get": {"summary": "Download one version's .morsel file (ETag, Range)", "parameters": [{"$ref": "#/components/parameters/name"}, {"$ref": "#/components/parameters/version"}], "responses": {"200": {"description": "The file"}, "206": {"description": "A byte range"}}}},
    "/metrics": {"get": {"summary": "Prometheus metrics", "responses": {"200": {"description": "Text exposition format 0.0.4"}}}},
    "/openapi.json": {"get": {"summary": "This document", "security": [], "responses": {"200": {"description": "OpenAPI 3"}}}}
  }
})JSON";
}

}  // namespace morsel::server

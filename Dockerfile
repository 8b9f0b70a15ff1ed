# The driftwarden user-code image: the code location the Dagster Helm chart's user
# deployment serves (dagster api grpc) and the image of every run (and step) pod.
#   docker build -t driftwarden/user-code:0.1.0 .
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    DRIFTWARDEN_HOME=/tmp/driftwarden \
    DAGSTER_HOME=/opt/dagster/dagster_home

WORKDIR /opt/driftwarden

# Dependencies first (cached while only the code changes).
COPY pyproject.toml README.md ./
RUN mkdir -p monitoring_assets resources sensors \
    && touch monitoring_assets/__init__.py resources/__init__.py sensors/__init__.py \
    && pip install . \
    && pip uninstall -y driftwarden

COPY monitoring_assets ./monitoring_assets
COPY resources ./resources
COPY sensors ./sensors
COPY dagster.yaml workspace.yaml ./
RUN pip install --no-deps . \
    && useradd --uid 10001 --create-home driftwarden \
    && mkdir -p "$DAGSTER_HOME" "$DRIFTWARDEN_HOME" \
    && chown -R driftwarden "$DAGSTER_HOME" "$DRIFTWARDEN_HOME"

USER 10001
EXPOSE 3030
# The chart overrides the command with dagsterApiGrpcArgs; this default serves the same.
CMD ["dagster", "api", "grpc", "-h", "0.0.0.0", "-p", "3030", "--module-name", "monitoring_assets.definitions"]

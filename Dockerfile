# feedsvc: serves the feeds of the site configured in /app/feeds.toml.
#   docker build -t feedsvc .
#   docker run --rm -p 8080:8080 feedsvc
# To serve your own site, mount a config and posts over the example:
#   docker run --rm -p 8080:8080 -v "$PWD/site:/site:ro" feedsvc \
#     feedsvc serve --config /site/feeds.toml --host 0.0.0.0
# and set server.public_url in it to the address readers use. With aggregator mode on and a
# read-only mount, point aggregator.store at the writable /app/var/feedsvc.sqlite3.
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Install the package first, so editing the example posts does not reinstall dependencies.
COPY pyproject.toml README.md ./
COPY feedsvc/ feedsvc/
RUN pip install --no-cache-dir .

COPY feeds.toml ./
COPY example/ example/

# Run as an unprivileged user; var/ is the only place feedsvc writes (aggregator store).
RUN useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin feedsvc \
    && mkdir -p /app/var \
    && chown feedsvc /app/var
USER feedsvc

EXPOSE 8080

HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import urllib.request, sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4).status == 200 else 1)"]

CMD ["feedsvc", "serve", "--host", "0.0.0.0"]

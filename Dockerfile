# One image for the API and the worker; the command decides which runs.
FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
RUN apt-get update && apt-get install -y --no-install-recommends gcc libgomp1 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
COPY services ./services
COPY codebooks ./codebooks
COPY models ./models
COPY labelled_data ./labelled_data
RUN pip install .
RUN useradd --create-home qcoder && mkdir -p /app/var && chown qcoder /app/var
USER qcoder
EXPOSE 8000
CMD ["qcoder", "serve", "--host", "0.0.0.0", "--port", "8000"]

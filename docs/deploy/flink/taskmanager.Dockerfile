# A Flink task manager that can start Beam SDK harness containers
# (--environment_type=DOCKER): Flink 1.20 plus the Docker CLI. The Docker
# engine is the host's, reached through the mounted /var/run/docker.sock.
FROM flink:1.20.1-scala_2.12-java17

# The flink image is Ubuntu-based (eclipse-temurin); docker.io brings the CLI.
RUN apt-get update \
    && apt-get install -y --no-install-recommends docker.io \
    && rm -rf /var/lib/apt/lists/*


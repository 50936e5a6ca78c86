"""The profile360 benchmark (``python -m bench``, ``make bench``).

Measures, side by side in one run on the same generated workload: the end-to-end rate of the
real worker process (publish → fold into PostgreSQL → stored positions reach the topic ends),
and the raw limits around it (Kafka produce, Kafka consume with and without Avro decode, the
worker's decode alone, PostgreSQL COPY with and without indexes, the writer alone, a bare Faust
stream), plus the HTTP API's requests/s and latency. See ``bench/__main__.py`` for the order.
"""

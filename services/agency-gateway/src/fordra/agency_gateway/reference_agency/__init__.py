"""The reference agency (issue 15): a small collection agency of our own, the agency named
``reference``, which the tests, ``fordra run --demo`` and ``make up`` use.

It lives in the gateway's package, not in devtools, because the demo starts it in the ``fordra``
process and ``make up`` and docker-compose run it beside the services, and devtools is never
installed in a service image. It imports nothing of the gateway but the signature helper.
"""

-- analytics.attempt_outcomes: int_attempt_outcomes, published under the name it had before sql/ had layers.
select * from analytics_intermediate.int_attempt_outcomes

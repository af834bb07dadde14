-- analytics.contact_outcomes: int_contact_outcomes, published under the name it had before sql/ had layers.
select * from analytics_intermediate.int_contact_outcomes

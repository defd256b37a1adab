"""What changed between two or more exports of the same CRM: `crmkpi diff`."""

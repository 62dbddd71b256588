# The channels of project "rails" (examples/centrifuge.yaml.tmpl): a post's
# comments, with presence; a user's reply notifications (user-limited).
module Channels
  module_function

  def post(post_id)
    "comments:post-#{post_id}"
  end

  def replies(user_id)
    "notifications:replies##{user_id}"
  end
end

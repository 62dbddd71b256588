class Comment < ApplicationRecord
  MAX_LENGTH = 2000

  belongs_to :post
  belongs_to :user
  # The comment this one answers: its author gets a notification.
  belongs_to :parent, class_name: "Comment", optional: true

  validates :text, presence: { message: "needs some text" },
                   length: { maximum: MAX_LENGTH, message: "has at most #{MAX_LENGTH} characters" }
  validate :parent_on_the_same_post

  # What the page receives, live and in the initial list alike (the same shape
  # as examples/django's).
  def as_live
    { id: id, post: post_id, author: user.name, author_id: user_id.to_s, parent: parent_id,
      text: text, created: created_at.iso8601 }
  end

  private

  def parent_on_the_same_post
    errors.add(:parent, "does not exist on this post") if parent && parent.post_id != post_id
  end
end
